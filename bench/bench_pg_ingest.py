"""PostgreSQL write time through ``add_contacts``: n new demo contacts into a new database, then the same n again
(every record an update), with the client's CPU and the server backend's CPU (from /proc when the server runs on
this machine) beside wall time. ``--no-triggers`` disables the change-log triggers to show what they cost.

    python bench/bench_pg_ingest.py --n 1000000 [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import sqlalchemy as sa  # noqa: E402

import segmenter  # noqa: E402
from segmenter.contacts import plain_values  # noqa: E402
from segmenter.demo import demo_frame  # noqa: E402


def backend_cpu(pid: int) -> float | None:
    """utime + stime of a server process in seconds (None when it is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(seg, label: str, fn) -> dict:
    with seg.engine.connect() as conn:  # the pool hands the same connection to the write (one connection pooled)
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    server0, cpu0, wall0 = backend_cpu(pid), time.process_time(), time.perf_counter()
    fn()
    wall, cpu, server1 = time.perf_counter() - wall0, time.process_time() - cpu0, backend_cpu(pid)
    out = {"wall_s": round(wall, 2), "client_cpu_s": round(cpu, 2),
           "server_cpu_s": None if server0 is None or server1 is None else round(server1 - server0, 2),
           "loadavg": os.getloadavg()}
    print(f"  {label}: {json.dumps(out)}", flush=True)
    return out


def run(url: str, n: int, triggers: bool) -> dict:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"seg_ingest_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db_url = url.rsplit("/", 1)[0] + "/" + name
    frame = demo_frame(n)
    columns = {c: plain_values(frame[c]) for c in frame.columns}
    records = [dict(zip(columns, row)) for row in zip(*columns.values())]
    del frame, columns
    out: dict = {"n": n, "triggers": triggers}
    try:
        with segmenter.connect(db_url, backend="sql") as seg:
            seg.engine.pool = seg.engine.pool.recreate()
            if not triggers:
                with seg.engine.begin() as conn:
                    conn.exec_driver_sql("ALTER TABLE contacts DISABLE TRIGGER USER")
            out["add_contacts_new"] = timed(seg, f"add_contacts({n:,} new)", lambda: seg.add_contacts(records))
            out["add_contacts_known"] = timed(seg, f"add_contacts({n:,} known)", lambda: seg.add_contacts(records))
            with seg.engine.connect() as conn:
                out["log_entries"] = conn.exec_driver_sql("SELECT count(*) FROM contact_changes").scalar()
            seg.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-triggers", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.n, not args.no_triggers)))


if __name__ == "__main__":
    main()
