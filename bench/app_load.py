"""The app's load time in a real browser (issue 14 item 15): Debian's Chromium (Playwright) against `streamlit run
app.py` over a SQLite file of --contacts demo contacts.

For each of --starts server starts: start the server and wait until it answers its health check, then
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


def start(url: str, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SEGMENTER_DATABASE_URL": url}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    first, later, tabs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/app.db"
        with segmenter.connect(url) as seg:
            seg.load_demo(args.contacts)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.starts):
                port = free_port()
                proc = start(url, port, Path(tmp) / "streamlit.log")
                try:
                    base = f"http://127.0.0.1:{port}"
                    first.append(load_once(browser, base, args.contacts))
                    later.extend(load_once(browser, base, args.contacts) for _ in range(args.sessions))
                    warm = browser.new_context(viewport={"width": 1280, "height": 720})
                    load_once(browser, base, args.contacts, warm)  # fills this browser's cache
                    tabs.extend(load_once(browser, base, args.contacts, warm) for _ in range(args.sessions))
                    warm.close()
                finally:
                    proc.terminate()
                    proc.wait(15)
            browser.close()
    out = {"contacts": args.contacts,
           "first load after a server start, s": {"median": round(statistics.median(first), 2),
                                                  "max": round(max(first), 2), "all": [round(x, 2) for x in first]},
           "new session, s": {"median": round(statistics.median(later), 2), "max": round(max(later), 2),
                              "all": [round(x, 2) for x in later]},
           "new tab, same browser (static files cached), s": {
               "median": round(statistics.median(tabs), 2), "max": round(max(tabs), 2),
               "all": [round(x, 2) for x in tabs]},
           "load average (1 min)": round(os.getloadavg()[0], 2)}
    print(json.dumps(out, indent=2))
    (ROOT / "bench" / "results" / "app_load.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
