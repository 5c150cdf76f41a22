"""Start the analysts' app: ``python -m ui [options of streamlit run]`` (e.g. ``--server.port 8502``).

The same server as ``streamlit run app.py``, with one difference: before it listens, this process imports what every
page needs (pandas, SQLAlchemy, the back ends, the app's modules) and opens the database (its in-memory snapshot
loaded), so the first visitor after a start waits no longer than later ones. With plain ``streamlit run app.py`` the
first session pays for all of that: at 20,000 contacts its first page took 2.9–3.0 s against 1.75–1.8 s this way
(docs/performance.md, "The app's load time"). ``streamlit run app.py`` still works; this is what the README runs.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGE_MODULES = ("auth", "compare", "contact_detail", "downloads", "format", "insight", "panels", "rule_row",
                "segment_list", "state")


def warm() -> str:
    """Import the pages' modules and open the shared Segmenter (the one sessions use: st.cache_resource is
    per process), with its snapshot loaded. Returns a line for the log. A database that cannot be opened yet is not
    an error here: the app shows its own message to whoever opens it, and tries again then."""
    started = time.perf_counter()
    import streamlit  # noqa: F401  (first: it makes its loggers, whose levels are set just below)

    # Outside a session, Streamlit's caches log "No runtime found" / "missing ScriptRunContext" for each call: true
    # and expected here, so those two loggers are quiet while warming.
    quiet = [logging.getLogger(name) for name in ("streamlit.runtime.caching.cache_data_api",
                                                  "streamlit.runtime.scriptrunner_utils.script_run_context")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.ERROR)
    try:
        return _warm(started)
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)


def _warm(started: float) -> str:
    from segmenter import SegmenterError
    from segmenter.settings import load as load_settings

    from . import resources

    # The modules app.py and app_pages/ import (the pages themselves are scripts, run per session): loaded once,
    # before the first session.
    for module in PAGE_MODULES:
        importlib.import_module(f"{__package__}.{module}")

    # Two first-call costs Streamlit pays in the first session of a process, paid here instead (~0.35 s together):
    # the emoji catalogue set_page_config loads to check the page icon, and the module index inspect.getmodule
    # builds on its first call over every loaded module (Streamlit calls inspect.stack() before its first element).
    importlib.import_module("streamlit.emojis")
    inspect.stack()
    try:
        seg = resources.segmenter_for(load_settings().database_url)
        total = seg.total_contacts()
        seg.count([])  # the back end loads what counts need (the snapshot, or nothing when counts go to SQL)
    except SegmenterError as exc:
        return f"segmenter: the database could not be opened yet ({exc}); the app will say so"
    took = time.perf_counter() - started
    return f"segmenter: loaded the app and {total:,} contacts of {seg.safe_url} in {took:.1f} s"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return
    print(warm(), file=sys.stderr, flush=True)
    from streamlit.web.cli import main as streamlit_main

    streamlit_main(["run", str(APP), *args])  # click: runs the server until it stops, then exits with its status


if __name__ == "__main__":
    main()
