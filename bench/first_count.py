"""Run in a new process by bench_counts.py (and by hand for PostgreSQL): open a SQLite file or a database URL,
answer the seed count, print timings as JSON (wall and this process's CPU seconds: on a shared machine CPU time is
the steadier figure). ``--rows`` reads with the row reader instead of ADBC (to compare); ``--auto`` uses the default
back end, which answers in SQL while the snapshot loads in a background thread (``count_thread_cpu_s`` is then the
count's own CPU, the load's being in ``connect_and_count_cpu_s``).

    python bench/first_count.py postgresql+psycopg://postgres@127.0.0.1:5432/seg_bench [--rows] [--auto]"""
from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(path: str, rows: bool = False, auto: bool = False) -> None:
    import segmenter

    if rows:
        from segmenter import columnar_io
        columnar_io.read_arrow = lambda *a, **k: None  # the row reader, as before ADBC
    imported = time.perf_counter()
    cpu, thread_cpu = time.process_time(), time.thread_time()
    seg = segmenter.connect(path if "://" in path else f"sqlite:///{path}", backend="auto" if auto else "memory")
    connected = time.perf_counter()
    rss_before = rss_mb()
    rules = [{"field": "status", "operator": "equals", "value": "active"},
             {"field": "company", "operator": "contains", "value": "Inc"}]
    count = seg.count(rules)
    done = time.perf_counter()
    print(json.dumps({
        "count": count, "import_s": imported - STARTED, "connect_s": connected - imported,
        "first_count_s": done - connected, "in_process_s": done - STARTED,
        "connect_and_count_cpu_s": time.process_time() - cpu, "count_thread_cpu_s": time.thread_time() - thread_cpu,
        "backend": seg.backend_status()["backend"] if auto else "memory", "loadavg": __import__("os").getloadavg(),
        "load": seg.snapshot.last_load, "snapshot_mb": seg.snapshot.nbytes() / 1e6,
        "rss_before_mb": rss_before, "rss_after_mb": rss_mb(),
    }))


if __name__ == "__main__":
    main(sys.argv[1], "--rows" in sys.argv[2:], "--auto" in sys.argv[2:])
