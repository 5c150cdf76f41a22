"""Counts pushed down to PostgreSQL at scale: the seed segment and a few rule mixes through ``SqlBackend``, first
without the back end's indexes, then with them (migration 0002). Prints medians as a Markdown table.

    python bench/bench_postgres.py --size 10_000_000        # ~15 min on 2 cores; drops its database at the end

Contacts come from ``segmenter.demo.demo_frame`` in chunks and are loaded with COPY (the change-log triggers are
off during the load, as for any bulk restore; one 'reload everything' change is logged after it)."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmenter import store  # noqa: E402
from segmenter.demo import demo_frame  # noqa: E402
from segmenter.models import ContactChange  # noqa: E402
from segmenter.rules import validate_rules  # noqa: E402
from segmenter.sql import SqlBackend  # noqa: E402
from segmenter.values import UTC  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CUSTOM = {"plan": "text", "country": "text", "mrr": "number", "vip": "boolean"}
COLUMNS = ["email", "name", "company", "status", "created_at", "plan", "country", "mrr", "vip"]
INDEX_SQL = [  # as migration 0002 creates them (ICU server)
    'CREATE INDEX ix_contacts_company_trgm ON contacts USING gin (lower(company COLLATE "und-x-icu") gin_trgm_ops)',
    'CREATE INDEX ix_contacts_status_lower ON contacts (lower(status COLLATE "und-x-icu"))',
    "CREATE INDEX ix_contacts_created_at ON contacts (created_at)",
]
CASES = {
    "seed: status equals active AND company contains Inc": [
        {"field": "status", "operator": "equals", "value": "active"},
        {"field": "company", "operator": "contains", "value": "Inc"}],
    "company contains 'müller' (rare)": [{"field": "company", "operator": "contains", "value": "müller"}],
    "status equals bounced": [{"field": "status", "operator": "equals", "value": "bounced"}],
    "created_at in last 7 days": [{"field": "created_at", "operator": "in_last_days", "value": 7}],
    "plan in [pro, enterprise] AND (vip OR mrr > 1000)": [
        {"field": "plan", "operator": "in", "value": ["pro", "enterprise"]},
        {"match": "any", "rules": [{"field": "vip", "operator": "is_true"},
                                   {"field": "mrr", "operator": "greater_than", "value": 1000}]}],
}


def load(url: str, size: int, chunk: int, copies: int = 1) -> float:
    """Fill the database with ``size`` demo contacts; returns seconds taken. With ``copies`` > 1 only
    ``size / copies`` are generated and the rest are copies made inside PostgreSQL (same distribution, new emails):
    generating the rows in Python is most of the load time."""
    engine = store.make_engine(url)
    store.migrate(engine)
    with store.writing(engine) as conn:
        store.add_custom_fields(conn, CUSTOM, dt.datetime.now(UTC))
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as pg:
        pg.execute("ALTER TABLE contacts DISABLE TRIGGER USER")
        generated = size // copies
        for k, start in enumerate(range(0, generated, chunk)):
            frame = demo_frame(min(chunk, generated - start), seed=1000 + k)
            frame["email"] = [f"c{k}.{e}" for e in frame["email"]]  # unique across chunks
            buffer = io.StringIO()
            frame[COLUMNS].to_csv(buffer, index=False, header=False)
            with pg.cursor().copy(f"COPY contacts ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            print(f"  loaded {start + len(frame):,}", file=sys.stderr, flush=True)
        columns = ", ".join(COLUMNS[1:])
        for copy_no in range(1, copies):
            pg.execute(f"INSERT INTO contacts (email, {columns}) SELECT 'x{copy_no}.' || email, {columns} "
                       f"FROM contacts WHERE id <= %s", (generated,))
            print(f"  copied {generated * (copy_no + 1):,}", file=sys.stderr, flush=True)
        pg.execute("ALTER TABLE contacts ENABLE TRIGGER USER")
        pg.commit()
    engine = store.make_engine(url)
    with store.writing(engine) as conn:
        conn.execute(insert(ContactChange).values(contact_id=None))  # every snapshot reloads
    engine.dispose()
    return time.perf_counter() - started


def measure(backend: SqlBackend, catalogue, repeat: int) -> dict[str, dict]:
    now = dt.datetime.now(UTC)
    out = {}
    for label, raw in CASES.items():
        rules = validate_rules(raw, catalogue)
        times, count = [], None
        for _ in range(repeat):
            t = time.perf_counter()
            count = backend.count(rules, now)
            times.append(time.perf_counter() - t)
        out[label] = {"count": count, "median_ms": round(statistics.median(times) * 1000, 1)}
        print(f"  {label}: {count:,} in {out[label]['median_ms']} ms", file=sys.stderr, flush=True)
    return out


def explain(url: str, backend: SqlBackend, catalogue) -> str:
    rules = validate_rules(CASES["company contains 'müller' (rare)"], catalogue)
    with backend.engine.connect() as conn:
        _c, table, where = backend.where(conn, rules, dt.datetime.now(UTC))
        from sqlalchemy import func, select
        stmt = select(func.count()).select_from(table).where(where)
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled)))


def sizes(conn) -> dict:
    rows = conn.exec_driver_sql("SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                                "WHERE relname LIKE 'contacts%%' OR relname LIKE 'ix_contacts%%' ORDER BY relname")
    return dict(rows.all())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    ap.add_argument("--chunk", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--admin-url", default=ADMIN_URL)
    ap.add_argument("--db", default="seg_bench")
    ap.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--copies", type=int, default=1, help="generate size/copies rows, copy the rest in SQL")
    ap.add_argument("--work-mem", default="", help="also measure with these work_mem settings, e.g. 64MB,256MB")
    args = ap.parse_args()

    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    url = args.admin_url.rsplit("/", 1)[0] + "/" + args.db
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{args.db}"')
    result: dict = {"size": args.size}
    try:
        engine = store.make_engine(url)
        store.migrate(engine)
        with engine.begin() as conn:  # measure the bare table first
            for name in ("ix_contacts_company_trgm", "ix_contacts_status_lower", "ix_contacts_created_at"):
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        result["load_s"] = round(load(url, args.size, args.chunk, args.copies), 1)
        result["copies"] = args.copies
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE contacts")
        backend = SqlBackend(engine)
        catalogue = backend.catalogue()
        print("without the indexes", file=sys.stderr)
        result["without_indexes"] = measure(backend, catalogue, args.repeat)
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for sql in INDEX_SQL:
                conn.exec_driver_sql(sql)
            conn.exec_driver_sql("ANALYZE contacts")
            result["index_build_s"] = round(time.perf_counter() - started, 1)
            result["sizes"] = sizes(conn)
        print("with the indexes", file=sys.stderr)
        result["with_indexes"] = measure(backend, catalogue, args.repeat)
        for setting in filter(None, args.work_mem.split(",")):
            print(f"with the indexes, work_mem={setting}", file=sys.stderr)
            tuned = store.make_engine(f"{url}?options=-c%20work_mem%3D{setting}")
            result[f"with_indexes_work_mem_{setting}"] = measure(SqlBackend(tuned), catalogue, args.repeat)
            tuned.dispose()
        result["plan_rare_contains"] = explain(url, backend, catalogue)
        engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        admin.dispose()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print_table(result)


def print_table(result: dict) -> None:
    print(f"\n{result['size']:,} contacts; load {result['load_s']} s; index build {result.get('index_build_s')} s\n")
    tuned = [k for k in result if k.startswith("with_indexes_work_mem_")]
    heads = ["without indexes (ms)", "with indexes (ms)"] + [f"with indexes, work_mem {k.rsplit('_', 1)[1]} (ms)"
                                                              for k in tuned]
    print(f"| rules | matches | {' | '.join(heads)} |\n| --- | ---: |{' ---: |' * len(heads)}")
    for label, r in result["without_indexes"].items():
        cells = [r["median_ms"]] + [result.get(k, {}).get(label, {}).get("median_ms", "")
                                    for k in ["with_indexes", *tuned]]
        print(f"| {label} | {r['count']:,} | {' | '.join(str(c) for c in cells)} |")


if __name__ == "__main__":
    main()
