"""SPEC §9 figures at a million contacts (the issue's targets in brackets), in-memory back end unless said:
- `in_segment` of a saved seed segment plus one more rule vs the referenced rules written inline [no slower];
- a split of a 1M-contact segment into 3 parts [≤ 100 ms] — first with a new salt (every email hashed once), then
  warm (the same salt again: the sample numbers are cached per salt);
- overlap of two saved segments [≤ 50 ms];
- `record_counts` of 20 segments [≤ 2 s], and the cost of the record made by `create_segment`;
- bytes per member of the stored membership records; the same counts on the SQL back end over SQLite, for scale.
Medians go to bench/results/section9.{json,md}.

    python bench/bench_section9.py [--size 1000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import data  # noqa: E402
from bench_counts import median_time as median  # noqa: E402 - one timing loop for every bench
from sqlalchemy import func, select  # noqa: E402

import segmenter  # noqa: E402
from segmenter.models import SegmentRecord  # noqa: E402

RESULTS = HERE / "results"
SEED = [{"field": "status", "operator": "equals", "value": "active"},
        {"field": "company", "operator": "contains", "value": "Inc"}]
MORE = {"field": "created_at", "operator": "in_last_days", "value": 365}
TWENTY = [
    [{"field": "status", "operator": "equals", "value": s}] for s in ("active", "inactive", "pending", "bounced")
] + [
    [{"field": "plan", "operator": "equals", "value": p}] for p in ("free", "pro", "enterprise")
] + [
    [{"field": "country", "operator": "in", "value": ["Spain", "France"]}],
    [{"field": "mrr", "operator": "greater_than", "value": 100}],
    [{"field": "vip", "operator": "is_true"}],
    [{"field": "company", "operator": "contains", "value": "LLC"}],
    [{"field": "email", "operator": "ends_with", "value": ".com"}],
    [{"field": "created_at", "operator": "in_last_days", "value": 90}],
    [{"field": "name", "operator": "starts_with", "value": "a"}],
    [{"match": "any", "rules": [{"field": "plan", "operator": "equals", "value": "pro"},
                                {"field": "vip", "operator": "is_true"}]}],
    [{"field": "status", "operator": "not_in", "value": ["bounced", "unsubscribed"]}],
    [{"field": "mrr", "operator": "between", "value": [10, 50]}],
    [{"field": "company", "operator": "is_empty"}],
    [],
    [{"field": "created_at", "operator": "before", "value": "2024-01-01"}],
]


def once(fn) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def run(size: int, repeat: int, with_sql: bool = False) -> dict:
    source = data.build(size)
    work = Path(tempfile.mkdtemp(prefix="seg-bench9-")) / "db.sqlite"
    shutil.copy(source, work)
    url = f"sqlite:///{work}"
    out: dict = {"size": size, "python": platform.python_version(), "machine": platform.machine()}
    with segmenter.connect(url, backend="memory") as seg:
        seg.count([])  # load the snapshot
        out["create_segment_with_record_s"], seed = once(lambda: seg.create_segment("Seed", SEED))
        composed = [{"field": "segment", "operator": "in_segment", "value": seed["id"]}, MORE]
        inline = [*SEED, MORE]
        seg.backend.cache.masks.clear()
        out["in_segment_plus_one_cold_s"], n1 = once(lambda: seg.count(composed))
        seg.backend.cache.masks.clear()
        out["inline_plus_one_cold_s"], n2 = once(lambda: seg.count(inline))
        assert n1 == n2
        out["in_segment_plus_one_s"], _ = median(lambda: seg.count(composed), repeat)
        out["inline_plus_one_s"], _ = median(lambda: seg.count(inline), repeat)
        # Evaluation alone (rules checked once, as the app's rerun of unchanged rules does): the back end's work
        checked_composed, checked_inline = seg.validate(composed), seg.validate(inline)
        now = segmenter.service._now()
        out["eval_in_segment_plus_one_s"], _ = median(lambda: seg.backend.count(checked_composed, now), repeat)
        out["eval_inline_plus_one_s"], _ = median(lambda: seg.backend.count(checked_inline, now), repeat)
        out["read_saved_segments_s"], _ = median(seg.segment_graph, repeat)
        out["load_average"] = list(__import__("os").getloadavg())
        out["in_segment_count"] = n1

        everyone = seg.create_segment("Everyone", [])
        out["split_segment_size"] = everyone["contacts_count"]
        parts = {"A": 45, "B": 45, "holdout": 10}
        out["split_3_new_salt_s"], split = once(lambda: seg.split(everyone["id"], parts, salt="bench-new"))
        assert sum(p["contacts_count"] for p in split) == everyone["contacts_count"]
        out["split_3_warm_s"], _ = median(lambda: seg.split(everyone["id"], parts, salt="bench-new"), repeat)
        out["split_3_new_salt_seed_segment_s"], _ = once(lambda: seg.split(seed["id"], parts, salt="bench-seed"))

        other = seg.create_segment("Pro or VIP", TWENTY[13])
        out["overlap_s"], ov = median(lambda: seg.overlap(seed["id"], other["id"]), repeat)
        seg.backend.cache.masks.clear()
        out["overlap_cold_s"], _ = once(lambda: seg.overlap(seed["id"], other["id"]))
        out["overlap"] = ov

        for s in seg.list_segments():
            if s["id"] not in (seed["id"],):
                seg.backend.cache.masks.clear()
        with seg.engine.begin() as conn:  # 20 segments in all: start from the list above
            conn.execute(SegmentRecord.__table__.delete())
        for s in seg.list_segments():
            seg.delete_segment(s["id"])
        made = [seg.create_segment(f"S{i}", r) for i, r in enumerate(TWENTY)]
        out["record_counts_20_first_s"], n = once(seg.record_counts)  # compared with the records made on create
        assert n == 20
        out["record_counts_20_s"], _ = median(seg.record_counts, max(3, repeat // 2))
        with seg.engine.connect() as conn:
            rows = conn.execute(select(SegmentRecord.contacts_count, func.length(SegmentRecord.members))).all()
        members = sum(c for c, _ in rows)
        stored = sum(b for _, b in rows)
        out["record_bytes_per_member"] = stored / members
        per = {}
        for m in made:
            c, b = next((c, b) for c, b in rows if c == m["contacts_count"])
            per[m["name"]] = {"members": c, "bytes": b, "bytes_per_member": round(b / c, 3) if c else None}
        out["records"] = per
    if not with_sql:
        shutil.rmtree(work.parent, ignore_errors=True)
        return out
    with segmenter.connect(url, backend="sql") as seg:
        seed_id = seg.list_segments()[0]["id"]
        out["sql_sqlite_in_segment_plus_one_s"], _ = once(
            lambda: seg.count([{"field": "segment", "operator": "in_segment", "value": seed_id}, MORE]))
        out["sql_sqlite_inline_plus_one_s"], _ = once(lambda: seg.count([*TWENTY[0], MORE]))
        out["sql_sqlite_split_3_s"], _ = once(lambda: seg.split(seed_id, {"A": 45, "B": 45, "C": 10}, salt="x"))
    shutil.rmtree(work.parent, ignore_errors=True)
    return out


def write(results: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "section9.json").write_text(json.dumps(results, indent=2) + "\n")
    ms = lambda s: f"{s * 1000:,.0f} ms"  # noqa: E731
    r = results
    load = ", ".join(f"{x:.1f}" for x in r["load_average"])
    lines = [f"# SPEC §9 figures at {r['size']:,} contacts (memory back end unless said)", "",
             f"Python {r['python']} on {r['machine']}; load average {load} (1, 5, 15 min) when measured.", "",
             "| what | median | target |", "| --- | --- | --- |",
             f"| count: `in_segment` seed + 1 rule (warm) | {ms(r['in_segment_plus_one_s'])} | ≤ inline |",
             f"| count: seed rules inline + 1 rule (warm) | {ms(r['inline_plus_one_s'])} | |",
             f"| evaluation only (rules checked once): in_segment / inline | {ms(r['eval_in_segment_plus_one_s'])} / "
             f"{ms(r['eval_inline_plus_one_s'])} | ≤ inline |",
             f"| reading the saved segments' rules (once per check of rules using in_segment) | "
             f"{ms(r['read_saved_segments_s'])} | |",
             f"| the same, first evaluation: in_segment / inline | {ms(r['in_segment_plus_one_cold_s'])} / "
             f"{ms(r['inline_plus_one_cold_s'])} | |",
             f"| split of {r['split_segment_size']:,} into 3, same salt again | {ms(r['split_3_warm_s'])} | ≤ 100 ms |",
             f"| split into 3, a new salt (hashes every email once) | {ms(r['split_3_new_salt_s'])} | |",
             f"| overlap of two saved segments | {ms(r['overlap_s'])} | ≤ 50 ms |",
             f"| overlap, masks not cached | {ms(r['overlap_cold_s'])} | |",
             f"| record_counts, 20 segments | {ms(r['record_counts_20_s'])} | ≤ 2 s |",
             f"| create_segment incl. its record | {ms(r['create_segment_with_record_s'])} | |",
             f"| stored bytes per member, all records | {r['record_bytes_per_member']:.3f} | ≤ 1 |",
             *([f"| SQL on SQLite: in_segment + 1 / inline + 1 | {ms(r['sql_sqlite_in_segment_plus_one_s'])} / "
                f"{ms(r['sql_sqlite_inline_plus_one_s'])} | |",
                f"| SQL on SQLite: split into 3 | {ms(r['sql_sqlite_split_3_s'])} | |"]
              if "sql_sqlite_split_3_s" in r else []), "",
             "Bytes per member by segment:", "", "| segment | members | bytes | bytes/member |", "| --- | --- | --- | --- |"]
    lines += [f"| {k} | {v['members']:,} | {v['bytes']:,} | {v['bytes_per_member']} |" for k, v in r["records"].items()]
    (RESULTS / "section9.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sql", action="store_true", help="also the SQL back end over SQLite (minutes at 1M)")
    args = parser.parse_args()
    write(run(args.size, args.repeat, args.sql))
