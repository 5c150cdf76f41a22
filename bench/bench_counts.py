"""Counts against peers in one run: Segmenter (in-memory snapshot) vs DuckDB in-memory, polars, SQLite SQL, pandas
and the plain Python loop, over several rule mixes and sizes; then a new process's first count, the count after
one write by another connection, the funnel and page on top of a count, and memory. Medians and ratios go to
bench/results/counts.{json,md} and a PNG chart.

Honest by construction: ``now`` is pinned once per run (every engine answers the same time-relative question),
every engine's count must agree with every other's or the run exits non-zero after writing what it measured, and a
"fresh rules" series (a new needle for each query) runs beside the repeated mixes.

    python bench/bench_counts.py --sizes 100000 1000000 [5000000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import data  # noqa: E402
from mixes import fresh, mixes  # noqa: E402

import segmenter  # noqa: E402
from segmenter import reference, snapshot_cache  # noqa: E402

RESULTS = HERE / "results"
SEED = "seed"
FRESH_QUERIES = 15
DISAGREEMENTS: list[str] = []  # every mix whose engines gave different counts; the run fails if any


def check_agree(label: str, counts: dict[str, int]) -> bool:
    if len(set(counts.values())) <= 1:
        return True
    DISAGREEMENTS.append(f"{label}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"  COUNTS DISAGREE at {DISAGREEMENTS[-1]}", flush=True)
    return False


def median_time(fn, repeat: int, setup=None) -> tuple[float, object]:
    """Median seconds of ``fn()`` over ``repeat`` runs (``setup()`` before each, not timed), and its last result."""
    times, result = [], None
    for _ in range(repeat):
        if setup:
            setup()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpu": cpu, "nproc": os.cpu_count(), "ram_gb": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "pandas": pd.__version__, "numpy": np.__version__,
            "pyarrow": __import__("pyarrow").__version__, "duckdb": duckdb.__version__, "polars": pl.__version__,
            "sqlite": sqlite3.sqlite_version, "load_average": os.getloadavg()}


# ---- the engines -------------------------------------------------------------------------------------------------

class Engines:
    """Every engine loaded with the same n contacts."""

    def __init__(self, n: int, path: Path, python_loop: bool):
        self.frame = data.frame(n)
        self.seg = segmenter.connect(f"sqlite:///{path}", backend="memory")
        self.seg.count([])  # load the snapshot (from the cache file when there is one)
        self.duck = duckdb.connect()
        frame = self.frame  # noqa: F841 - read by DuckDB's replacement scan
        self.duck.execute("CREATE TABLE contacts AS SELECT * FROM frame")
        self.polars = pl.from_pandas(self.frame)
        self.sqlite = sqlite3.connect(path)
        snap = self.seg.snapshot
        self.records = snap.records(np.flatnonzero(snap.alive)) if python_loop else None

    def close(self):
        self.seg.close()
        self.duck.close()
        self.sqlite.close()

    def runners(self, mix: dict, now: dt.datetime) -> dict:
        seg, rules = self.seg, self.seg.validate(mix["rules"])
        backend = seg.backend
        where, params = mix["duckdb"]
        swhere, sparams = mix["sqlite"]
        run = {
            # what an analyst's repeated preview costs: masks of unchanged rules are reused. The back end is asked
            # at the run's pinned `now` (Segmenter.count would take the clock's).
            "segmenter (warm)": (lambda: backend.count(seg.validate(mix["rules"]), now), None),
            # every rule evaluated from scratch: the fair comparison with engines that keep no masks
            "segmenter (uncached)": (lambda: backend.count(seg.validate(mix["rules"]), now),
                                     lambda: backend.cache.masks.clear()),
            "duckdb": (lambda: self.duck.execute(f"SELECT count(*) FROM contacts WHERE {where}", params).fetchone()[0],
                       None),
            "polars": (lambda: self.polars.select(mix["polars"].sum()).item(), None),
            "sqlite sql": (lambda: self.sqlite.execute(f"SELECT count(*) FROM contacts WHERE {swhere}", sparams)
                           .fetchone()[0], None),
            "pandas": (lambda: int(mix["pandas"](self.frame).sum()), None),
        }
        if self.records is not None:
            run["python loop"] = (lambda: len(reference.matching_ids(rules.canonical, self.records, now)), None)
        return run


def bench_counts(eng: Engines, repeat: int, now: dt.datetime) -> dict:
    out = {}
    for name, mix in mixes(now).items():
        row = {}
        for engine, (fn, setup) in eng.runners(mix, now).items():
            reps = max(3, repeat // 3) if engine in ("python loop", "sqlite sql", "pandas") else repeat
            seconds, count = median_time(fn, reps, setup)
            row[engine] = {"seconds": seconds, "count": int(count)}
        out[name] = row
        check_agree(name, {k: v["count"] for k, v in row.items()})
        ratio = row["segmenter (uncached)"]["seconds"] / row["duckdb"]["seconds"]
        print(f"  {name:7s} " + "  ".join(f"{k}={v['seconds'] * 1e3:.1f}ms/{v['count']}" for k, v in row.items())
              + f"  segmenter(uncached)/duckdb={ratio:.2f}x", flush=True)
    return out


def bench_fresh(eng: Engines, now: dt.datetime, queries: int = FRESH_QUERIES) -> dict:
    """Each engine answers ``queries`` different rules per fresh mix (a new needle each time; Segmenter's mask
    cache cannot help): the median over the queries, and every query's counts must agree."""
    times: dict[str, dict[str, list[float]]] = {}
    for i in range(queries):
        for name, mix in fresh(now, i).items():
            counts = {}
            for engine, (fn, _setup) in eng.runners(mix, now).items():
                if engine in ("segmenter (uncached)", "python loop") or (engine in ("sqlite sql", "pandas")
                                                                         and i >= 3):
                    continue  # the fresh needle is uncached already; the slow peers: three queries are enough
                t = time.perf_counter()
                counts[engine] = int(fn())
                times.setdefault(name, {}).setdefault(engine, []).append(time.perf_counter() - t)
            check_agree(f"{name} #{i} {mix['rules']}", counts)
    out = {name: {engine.replace(" (warm)", " (fresh)"): {"seconds": statistics.median(ts), "queries": len(ts)}
                  for engine, ts in row.items()} for name, row in times.items()}
    for name, row in out.items():
        ratio = row["segmenter (fresh)"]["seconds"] / row["duckdb"]["seconds"]
        print(f"  {name:14s} " + "  ".join(f"{k}={v['seconds'] * 1e3:.1f}ms" for k, v in row.items())
              + f"  segmenter/duckdb={ratio:.2f}x", flush=True)
    return out


# ---- freshness, funnel, page --------------------------------------------------------------------------------------

def bench_after_write(eng: Engines, path: Path, repeat: int, now: dt.datetime) -> dict:
    """The next count after one contact is written by another connection (plain SQL and another Segmenter)."""
    seed = eng.seg.validate(mixes(now)[SEED]["rules"])
    seg = eng.seg.backend
    seg.count(seed, now)
    con = sqlite3.connect(path, isolation_level=None)
    rng = np.random.default_rng(1)
    ids = seg.snapshot.ids
    out = {}
    writes = {
        "update (plain SQL)": lambda i: con.execute("UPDATE contacts SET company = 'Zed Inc', status = 'active' "
                                                    "WHERE id = ?", (int(ids[i]),)),
        "insert (plain SQL)": lambda i: con.execute("INSERT INTO contacts (email, company, status) VALUES (?, ?, ?)",
                                                    (f"bench{time.time_ns()}@example.com", "New Inc", "active")),
        "delete (plain SQL)": lambda i: con.execute("DELETE FROM contacts WHERE id = ?", (int(ids[i]),)),
    }
    with segmenter.connect(f"sqlite:///{path}", backend="memory") as other:
        writes["add_contacts (another Segmenter)"] = lambda i: other.add_contacts(
            [{"email": f"bench{time.time_ns()}@example.com", "company": "Other Inc", "status": "active"}])
        for name, write in writes.items():
            times = []
            for _ in range(repeat):
                write(int(rng.integers(0, len(ids) // 2)))
                t = time.perf_counter()
                seg.count(seed, now)
                times.append(time.perf_counter() - t)
            out[name] = statistics.median(times)
    con.close()
    print("  after one write: " + "  ".join(f"{k}={v * 1e3:.1f}ms" for k, v in out.items()), flush=True)
    return out


def bench_funnel_page(eng: Engines, repeat: int, now: dt.datetime) -> dict:
    """Count, then funnel, then a page of 50, as the app asks after each edit; fresh masks and reused masks."""
    seg, seed = eng.seg.backend, eng.seg.validate(mixes(now)[SEED]["rules"])
    clear = eng.seg.backend.cache.masks.clear
    out = {
        "count (uncached)": median_time(lambda: seg.count(seed, now), repeat, clear)[0],
        "count+funnel+page (uncached)": median_time(
            lambda: (seg.count(seed, now), seg.funnel(seed, now), seg.page(seed, now, 50, 0)), repeat, clear)[0],
        "funnel after count": median_time(lambda: seg.funnel(seed, now), repeat)[0],
        "page of 50 after count": median_time(lambda: seg.page(seed, now, 50, 0), repeat)[0],
    }
    print("  " + "  ".join(f"{k}={v * 1e3:.1f}ms" for k, v in out.items()), flush=True)
    return out


def first_count(path: Path, *, cache: bool, repeat: int = 3) -> dict:
    """A new process: interpreter start, imports, connect, first count. Without the cache file (read the table)
    or with it (written by the previous run)."""
    runs = []
    for _ in range(repeat):
        env = dict(os.environ)
        if not cache:
            env["SEGMENTER_SNAPSHOT_CACHE"] = "0"
        t = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / "first_count.py"), str(path)], env=env,
                              capture_output=True, text=True, check=True)
        info = json.loads(done.stdout)
        info["process_s"] = time.perf_counter() - t
        runs.append(info)
    best = sorted(runs, key=lambda r: r["process_s"])[len(runs) // 2]  # the median run
    print(f"  first count in a new process ({'cache file' if cache else 'table'}): "
          f"process {best['process_s']:.2f}s, load+count {best['first_count_s']:.2f}s, "
          f"snapshot {best['snapshot_mb']:.0f} MB, RSS +{best['rss_after_mb'] - best['rss_before_mb']:.0f} MB",
          flush=True)
    return best


# ---- report ---------------------------------------------------------------------------------------------------

def run(sizes: list[int], repeat: int, python_loop_max: int) -> dict:
    now = dt.datetime.now(dt.UTC)  # pinned once: every engine and every size answers at this `now`
    results = {"machine": machine(), "when": now.isoformat(timespec="seconds"), "now": now.isoformat(),
               "repeat": repeat, "sizes": {}}
    for n in sizes:
        print(f"n = {n:,}", flush=True)
        path = data.build(n)
        cache_file = snapshot_cache.path_for(segmenter.connect(f"sqlite:///{path}").engine)
        cache_file.unlink(missing_ok=True)
        fresh_start = first_count(path, cache=False, repeat=1 if n > 1_000_000 else 3)
        segmenter.connect(f"sqlite:///{path}", backend="memory").count([])  # writes the cache file
        cached = first_count(path, cache=True)
        eng = Engines(n, path, python_loop=n <= python_loop_max)
        entry = {"counts": bench_counts(eng, repeat, now), "fresh": bench_fresh(eng, now),
                 "first_count_table": fresh_start, "first_count_cache": cached,
                 "funnel_page": bench_funnel_page(eng, repeat, now),
                 "snapshot_mb": eng.seg.snapshot.nbytes() / 1e6}
        entry["after_write"] = bench_after_write(eng, path, repeat, now)
        eng.close()
        cache_file.unlink(missing_ok=True)  # the writes above changed the data; the next run rebuilds
        results["sizes"][str(n)] = entry
        path.unlink()  # the writes changed the file: the next run starts from the same data again
        for p in path.parent.glob(path.name + "-*"):
            p.unlink()
    results["machine"]["load_average_end"] = os.getloadavg()
    results["disagreements"] = list(DISAGREEMENTS)
    return results


ENGINES = ["segmenter (uncached)", "segmenter (warm)", "duckdb", "polars", "pandas", "sqlite sql", "python loop"]


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"Run {results['when']} on {m['cpu']} ({m['nproc']} cores, {m['ram_gb']} GB RAM, load average "
             f"{', '.join(f'{x:.1f}' for x in m['load_average'])}); Python {m['python']}, pandas {m['pandas']}, "
             f"DuckDB {m['duckdb']}, polars {m['polars']}, pyarrow {m['pyarrow']}, SQLite {m['sqlite']}. "
             f"Medians of {results['repeat']} runs (3 for the slow peers); `now` pinned at {results.get('now')}.",
             ""]
    for n, entry in results["sizes"].items():
        lines += [f"### {int(n):,} contacts", "",
                  "| mix | " + " | ".join(ENGINES) + " | segmenter ÷ duckdb | counts agree |",
                  "|---" * (len(ENGINES) + 3) + "|"]
        for mix, row in entry["counts"].items():
            cells = [f"{row[e]['seconds'] * 1e3:.1f} ms" if e in row else "–" for e in ENGINES]
            ratio = row["segmenter (uncached)"]["seconds"] / row["duckdb"]["seconds"]
            counts = {row[e]["count"] for e in row}
            agree = "yes" if len(counts) == 1 else " / ".join(f"{e}: {row[e]['count']}" for e in row)
            lines.append(f"| {mix} | " + " | ".join(cells) + f" | {ratio:.2f}× | {agree} |")
        fresh_engines = ["segmenter (fresh)", "duckdb", "polars", "pandas", "sqlite sql"]
        lines += ["", f"Fresh rules (a new needle for each of {FRESH_QUERIES} queries; medians; counts checked "
                  "for every query):", "",
                  "| mix | " + " | ".join(fresh_engines) + " | segmenter ÷ duckdb |",
                  "|---" * (len(fresh_engines) + 2) + "|"]
        for mix, row in entry.get("fresh", {}).items():
            cells = [f"{row[e]['seconds'] * 1e3:.1f} ms" if e in row else "–" for e in fresh_engines]
            ratio = row["segmenter (fresh)"]["seconds"] / row["duckdb"]["seconds"]
            lines.append(f"| {mix} | " + " | ".join(cells) + f" | {ratio:.2f}× |")
        t, c = entry["first_count_table"], entry["first_count_cache"]
        lines += ["", f"- First count in a new process: **{c['process_s']:.2f} s** with the cache file "
                  f"(load {c['first_count_s']:.2f} s, imports {c['import_s']:.2f} s); {t['process_s']:.2f} s reading "
                  f"the table (load {t['first_count_s']:.2f} s).",
                  f"- Snapshot: {entry['snapshot_mb']:.0f} MB (`Snapshot.nbytes()`); RSS grew "
                  f"{c['rss_after_mb'] - c['rss_before_mb']:.0f} MB loading from the cache file, "
                  f"{t['rss_after_mb'] - t['rss_before_mb']:.0f} MB reading the table.",
                  "- Next count after one write by another connection: " + ", ".join(
                      f"{k} {v * 1e3:.1f} ms" for k, v in entry["after_write"].items()) + ".",
                  "- Funnel and page: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in entry["funnel_page"].items())
                  + ".", ""]
    return "\n".join(lines)


def chart(results: dict, dest: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in results["sizes"])
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, mix in zip(axes, ["seed", "text", "custom"]):  # text: the mix where the snapshot is not ahead
        for engine in ENGINES:
            ys = [results["sizes"][str(n)]["counts"][mix].get(engine, {}).get("seconds") for n in sizes]
            pts = [(n, y * 1e3) for n, y in zip(sizes, ys) if y is not None]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=engine)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("contacts")
        ax.set_ylabel("median time of one count (ms)")
        ax.set_title(f"rule mix '{mix}'")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Segment count: time against contact count (lower is better)")
    fig.tight_layout()
    fig.savefig(dest, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--python-loop-max", type=int, default=1_000_000, help="skip the plain loop above this n")
    parser.add_argument("--out", default="counts")
    args = parser.parse_args()
    results = run(args.sizes, args.repeat, args.python_loop_max)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"{args.out}.md").write_text(markdown(results))
    chart(results, RESULTS / f"{args.out}.png")
    print(markdown(results))
    if DISAGREEMENTS:
        print("FAILED: engines disagree on " + "; ".join(DISAGREEMENTS), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
