"""Run in a new process by bench_counts.py: open a SQLite file, answer the seed count, print timings as JSON."""
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


def main(path: str) -> None:
    import segmenter

    imported = time.perf_counter()
    seg = segmenter.connect(f"sqlite:///{path}", backend="memory")
    connected = time.perf_counter()
    rss_before = rss_mb()
    rules = [{"field": "status", "operator": "equals", "value": "active"},
             {"field": "company", "operator": "contains", "value": "Inc"}]
    count = seg.count(rules)
    done = time.perf_counter()
    print(json.dumps({
        "count": count, "import_s": imported - STARTED, "connect_s": connected - imported,
        "first_count_s": done - connected, "in_process_s": done - STARTED,
        "load": seg.snapshot.last_load, "snapshot_mb": seg.snapshot.nbytes() / 1e6,
        "rss_before_mb": rss_before, "rss_after_mb": rss_mb(),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
