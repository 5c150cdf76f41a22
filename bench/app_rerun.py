"""How long a rule edit takes to rerun the Build page's builder (an st.fragment) on a million demo contacts.

Drives the real app in process with Streamlit's AppTest: each edit types a new value into a rule, so every timing
includes a fresh mask, the count, the funnel, a preview page, the breakdown chart and the rest of the builder
(plus AppTest's own overhead, so the figure is an upper bound). Run: python bench/app_rerun.py [N]"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from data import build  # noqa: E402  (bench/data.py: the demo contacts in a SQLite file, built once)

VALUES = ["Inc", "LLC", "Ltd", "Systems", "Bio", "Capital", "Media", "Energy", "Works", "Labs", "Health", "Sports"]


def main(n: int) -> dict:
    source = build(n)
    folder = Path(tempfile.mkdtemp(prefix="app-rerun-"))
    for part in source.parent.glob(source.name + "*"):  # a private copy: the app may write its own caches
        shutil.copy(part, folder / part.name)
    os.environ["SEGMENTER_DATABASE_URL"] = f"sqlite:///{folder / source.name}"
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    at.button(key="add_rule").click().run()
    row = next(s.key.split(":")[0] for s in at.selectbox if s.key and s.key.endswith(":field"))
    at.selectbox(key=f"{row}:field").set_value("company").run()
    at.selectbox(key=f"{row}:op:text").set_value("contains").run()
    timings = []
    for value in VALUES:
        box = at.text_input(key=f"{row}:v:company:string")  # value boxes are keyed by row, field and kind
        started = time.perf_counter()
        box.input(value).run()
        timings.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    shown = next(m.value for m in at.metric if m.label == "Matching contacts")
    shutil.rmtree(folder, ignore_errors=True)
    return {"contacts": n, "first_page_load_s": round(first, 2), "edits": len(timings),
            "rerun_median_s": round(statistics.median(timings), 3), "rerun_max_s": round(max(timings), 3),
            "last_count_shown": shown}


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    print(json.dumps(result))
    out = ROOT / "bench" / "results" / f"app_rerun-{result['contacts']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
