"""Cost of hostile requests (issue 12): how long a body just under the 2 MB limit, one over it and a maximal `in`
preview take to answer, how big the answer is, and how long another client waits for `GET /api/fields` meanwhile;
then the JSON contacts of a segment of everyone (no `limit`) at --stream-contacts: the server's peak memory while it
streams them, beside building the same answer whole (the pre-streaming way) in the same process.

    python bench/bench_hostile.py [--contacts 20000] [--rounds 5] [--stream-contacts 200000]

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


def _rss_peak_reset() -> None:
    """Reset this process's peak resident set (Linux: writing 5 to clear_refs), so VmHWM measures what follows."""
    Path("/proc/self/clear_refs").write_text("5")


def _rss(kind: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(kind + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(kind)


def stream_memory(n: int) -> dict:
    """Peak memory above the resting size: streaming the JSON contacts of everyone vs building that JSON whole."""
    with tempfile.TemporaryDirectory() as tmp:
        seg = segmenter.connect(f"sqlite:///{tmp}/stream.db")
        seg.load_demo(n)
        everyone = seg.create_segment("everyone", [])["id"]
        seg.count([])  # the snapshot is loaded before measuring
        server = LiveServer(create_app(seg, api_key=""))
        out: dict = {"contacts": n}
        with httpx.Client(base_url=server.url, timeout=600) as client:
            rest = _rss("VmRSS")
            _rss_peak_reset()
            t = time.perf_counter()
            size = 0
            with client.stream("GET", "/api/segments/contacts", params={"segment_id": everyone}) as response:
                for chunk in response.iter_raw():
                    size += len(chunk)  # read and dropped, as a client saving to a file would
            out["streamed: s"] = round(time.perf_counter() - t, 3)
            out["streamed: answer MB"] = round(size / 1e6, 1)
            out["streamed: peak MB above rest"] = round((_rss("VmHWM") - rest) / 1e6, 1)
        server.stop()
        rest = _rss("VmRSS")
        _rss_peak_reset()
        t = time.perf_counter()
        whole = json.dumps(seg.get_segment_contacts(everyone)).encode()
        out["built whole: s"] = round(time.perf_counter() - t, 3)
        out["built whole: peak MB above rest"] = round((_rss("VmHWM") - rest) / 1e6, 1)
        del whole
        seg.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream-contacts", type=int, default=200_000)
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
    out["JSON contacts of everyone, no limit"] = stream_memory(args.stream_contacts)
    out["load average (1 min) at the end"] = round(__import__("os").getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    results = Path(__file__).resolve().parent / "results" / "hostile.json"
    results.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
