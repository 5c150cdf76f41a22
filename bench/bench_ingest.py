"""Ingest time through the public paths: load_demo(n), add_contacts(n records) and import_csv (an n-row file), each
into a new SQLite file; then the same add_contacts again (every record an update). Results to bench/results/ingest.*

    python bench/bench_ingest.py --n 1000000
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import segmenter  # noqa: E402
from segmenter.demo import demo_frame  # noqa: E402
from segmenter.contacts import plain_values as _plain_values  # noqa: E402

from bench_counts import machine  # noqa: E402


CPU: dict[str, float] = {}  # this process's CPU seconds per step: on a shared machine the steadier figure


def timed(label: str, fn) -> float:
    t, cpu = time.perf_counter(), time.process_time()
    fn()
    seconds, CPU[label] = time.perf_counter() - t, time.process_time() - cpu
    print(f"  {label}: {seconds:.1f} s wall, {CPU[label]:.1f} s CPU, load {os.getloadavg()[0]:.1f}", flush=True)
    return seconds


def run(n: int) -> dict:
    out: dict = {"machine": machine(), "n": n}
    with tempfile.TemporaryDirectory(dir=HERE / ".data") as tmp:
        tmp = Path(tmp)
        frame = demo_frame(n)
        columns = {c: _plain_values(frame[c]) for c in frame.columns}
        records = [dict(zip(columns, row)) for row in zip(*columns.values())]
        csv_path = tmp / "contacts.csv"
        frame.assign(created_at=frame["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(csv_path, index=False)
        del frame, columns
        with segmenter.connect(f"sqlite:///{tmp / 'demo.db'}", backend="memory") as seg:
            out["load_demo"] = timed(f"load_demo({n:,})", lambda: seg.load_demo(n))
        with segmenter.connect(f"sqlite:///{tmp / 'add.db'}", backend="memory") as seg:
            out["add_contacts_insert"] = timed(f"add_contacts({n:,} new)", lambda: seg.add_contacts(records))
            out["add_contacts_update"] = timed(f"add_contacts({n:,} known)", lambda: seg.add_contacts(records))
        with segmenter.connect(f"sqlite:///{tmp / 'csv.db'}", backend="memory") as seg:
            report = {}
            out["import_csv"] = timed(f"import_csv({n:,} rows)",
                                      lambda: report.update(seg.import_csv(csv_path).as_dict()))
            out["import_csv_inserted"] = report.get("inserted")
    out["cpu_s"] = dict(CPU)
    out["loadavg_after"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    (HERE / ".data").mkdir(exist_ok=True)
    results = run(args.n)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ingest.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
