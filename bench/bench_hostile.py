"""Cost of hostile requests (issue 12): how long a body just under the 2 MB limit, one over it and a maximal `in`
preview take to answer, how big the answer is, and how long another client waits for `GET /api/fields` meanwhile.

    python bench/bench_hostile.py [--contacts 20000] [--rounds 5]

Prints a table and writes bench/results/hostile.json. A real uvicorn server in this process, a real SQLite file."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import segmenter  # noqa: E402
from helpers import LiveServer  # noqa: E402
from segmenter.http import create_app  # noqa: E402

JSON = {"Content-Type": "application/json"}


def bodies() -> dict[str, bytes]:
    zeros = b'{"rules":[' + b",".join([b"0"] * 1_040_000) + b"]}"  # 2,080,012 bytes: just under 2 MiB
    over = b'{"rules":[' + b",".join([b"0"] * 1_100_000) + b"]}"
    maximal = json.dumps({"rules": [{"field": "company", "operator": "in",
                                     "value": [f"{i}-{j}" for j in range(1000)]} for i in range(100)]}).encode()
    return {"2 MB of [0,0,...] (422)": zeros, "2.2 MB (413)": over, "100 in-rules x 1,000 items (200)": maximal}


def other_client(url: str, stop: threading.Event, waits: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        while not stop.is_set():
            t = time.perf_counter()
            c.get("/api/fields")
            waits.append(time.perf_counter() - t)
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        seg = segmenter.connect(f"sqlite:///{tmp}/bench.db")
        seg.load_demo(args.contacts)
        server = LiveServer(create_app(seg, api_key=""))
        with httpx.Client(base_url=server.url, timeout=300) as client:
            client.get("/api/fields")
            quiet: list[float] = []
            for _ in range(20):
                t = time.perf_counter()
                client.get("/api/fields")
                quiet.append(time.perf_counter() - t)
            out["quiet GET /api/fields (median s)"] = statistics.median(quiet)
            for label, body in bodies().items():
                times, sizes, statuses, waits = [], [], set(), []
                for _ in range(args.rounds):
                    stop, mine = threading.Event(), []
                    watcher = threading.Thread(target=other_client, args=(server.url, stop, mine))
                    watcher.start()
                    time.sleep(0.05)
                    t = time.perf_counter()
                    response = client.post("/api/segments/preview", content=body, headers=JSON)
                    times.append(time.perf_counter() - t)
                    stop.set()
                    watcher.join()
                    sizes.append(len(response.content))
                    statuses.add(response.status_code)
                    waits.append(max(mine) if mine else float("nan"))
                out[label] = {"body bytes": len(body), "status": sorted(statuses),
                              "answer s (median)": statistics.median(times), "answer s (max)": max(times),
                              "answer bytes": max(sizes), "other client's longest wait s (max)": max(waits)}
        server.stop()
        seg.close()
    print(json.dumps(out, indent=2))
    results = Path(__file__).resolve().parent / "results" / "hostile.json"
    results.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
