"""The app's load time in a real browser (issue 14 item 15): Debian's Chromium (Playwright) against the app over a
SQLite file of --contacts demo contacts, started both ways in the same run: `python -m ui` (the README's command: the
core imported and the database opened before the server listens) and plain `streamlit run app.py`.

For each launch and each of --starts server starts: start the server and wait until it answers its health check, then
- first load: a new browser opens the Build page; the time from navigation until the live count shows the total;
- new sessions: --sessions more new browser contexts (a teammate opening a link in a browser that has never seen the
  app: every static file fetched), each timed the same way;
- new tabs: --sessions new tabs in the first load's browser context (a teammate who has used the app before: the
  browser has Streamlit's static files cached; each tab is still a new Streamlit session).

    python bench/app_load.py [--contacts 20000] [--starts 3] [--sessions 3]

Prints medians and maxima and writes bench/results/app_load.json. Goals: first load <= 2 s, new session <= 1 s at
20,000 contacts. Nothing here is a test assertion: the figures depend on the machine and its load."""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import segmenter  # noqa: E402

CHROMIUM = os.environ.get("SEGMENTER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCH = {"python -m ui": ["-m", "ui"], "streamlit run app.py": ["-m", "streamlit", "run", "app.py"]}


def start(url: str, port: int, log: Path, launch: str = "python -m ui") -> subprocess.Popen:
    env = {**os.environ, "SEGMENTER_DATABASE_URL": url}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, *LAUNCH[launch], "--server.port", str(port),
                                 "--server.headless", "true", "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"streamlit did not start: {log.read_text()[-2000:]}")


def load_once(browser, base: str, total: int, context=None) -> float:
    from playwright.sync_api import expect

    own = context is None
    context = context or browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    t = time.perf_counter()
    page.goto(base + "/")
    metric = page.get_by_test_id("stMain").get_by_test_id("stMetricValue").first
    expect(metric).to_have_text(f"{total:,}", timeout=60_000)
    took = time.perf_counter() - t
    page.close()
    if own:
        context.close()
    return took


def summary(times: list[float]) -> dict:
    return {"median": round(statistics.median(times), 2), "max": round(max(times), 2),
            "all": [round(x, 2) for x in times]}


FLOOR = "floor: a one-metric Streamlit app"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    launches = [*LAUNCH, FLOOR]
    first: dict[str, list[float]] = {k: [] for k in launches}
    later: dict[str, list[float]] = {k: [] for k in launches}
    tabs: dict[str, list[float]] = {k: [] for k in launches}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/app.db"
        with segmenter.connect(url) as seg:
            seg.load_demo(args.contacts)
        # Streamlit's own floor on this machine: the same page load for an app that shows one number and nothing
        # else (no data, no widgets); no app of ours can open faster than this.
        floor = Path(tmp) / "floor.py"
        floor.write_text(f"import streamlit as st\nst.metric('Contacts', '{args.contacts:,}')\n")
        LAUNCH[FLOOR] = ["-m", "streamlit", "run", str(floor)]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.starts):
                for launch in launches:  # interleaved, so a change in the machine's load touches all alike
                    port = free_port()
                    proc = start(url, port, Path(tmp) / "streamlit.log", launch)
                    try:
                        base = f"http://127.0.0.1:{port}"
                        first[launch].append(load_once(browser, base, args.contacts))
                        later[launch].extend(load_once(browser, base, args.contacts) for _ in range(args.sessions))
                        warm = browser.new_context(viewport={"width": 1280, "height": 720})
                        load_once(browser, base, args.contacts, warm)  # fills this browser's cache
                        tabs[launch].extend(load_once(browser, base, args.contacts, warm)
                                            for _ in range(args.sessions))
                        warm.close()
                    finally:
                        proc.terminate()
                        proc.wait(15)
            browser.close()
    out: dict = {"contacts": args.contacts}
    for launch in launches:
        out[launch] = {"first load after a server start, s": summary(first[launch]),
                       "new session, s": summary(later[launch]),
                       "new tab, same browser (static files cached), s": summary(tabs[launch])}
    out["load average (1 min)"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    print(f"{'':24} {'first load':>11} {'new session':>12} {'cached tab':>11}   (medians, s)")
    for launch in launches:
        row = out[launch]
        print(f"{launch[:24]:24} " + " ".join(f"{row[k]['median']:>11.2f}" for k in list(row)))
    (ROOT / "bench" / "results" / "app_load.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
