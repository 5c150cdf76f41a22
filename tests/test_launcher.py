"""`python -m ui`, the README's way to start the app (ui/__main__.py): the same Streamlit server as `streamlit run
app.py`, with the core imported and the database opened before it listens, so no visitor pays for that. Real
processes on a real SQLite file; an unreachable database still lets the server start (the app then says why)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import segmenter

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_until_healthy(url: str, tmp_path: Path) -> tuple[str, int]:
    """Start `python -m ui` on a free port, wait for its health check, stop it; its output and the status code."""
    port, log = _free_port(), tmp_path / "ui.log"
    env = {**os.environ, "SEGMENTER_DATABASE_URL": url}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ui", "--server.port", str(port), "--server.headless", "true",
                                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    status = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return log.read_text(), status


def test_the_app_starts_with_the_core_and_the_database_already_loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    with segmenter.connect(url) as seg:
        seg.load_demo(1_234)
    output, status = _run_until_healthy(url, tmp_path)
    assert status == 200, output
    loaded = f"segmenter: loaded the app and 1,234 contacts of {url} in "
    assert loaded in output, output
    assert output.index(loaded) < output.index("You can now view your Streamlit app"), "loaded before it listens"
    assert "No runtime found" not in output and "missing ScriptRunContext" not in output  # no noise while warming
    assert "Traceback" not in output


def test_an_unreachable_database_does_not_stop_the_server(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"  # nothing listens on port 1
    output, status = _run_until_healthy(url, tmp_path)
    assert status == 200, output
    assert "segmenter: the database could not be opened yet (cannot open database" in output, output
    assert "the app will say so" in output and "Traceback" not in output


def test_help_says_what_it_is_without_starting_anything():
    done = subprocess.run([sys.executable, "-m", "ui", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "python -m ui [options of streamlit run]" in done.stdout and "streamlit run app.py" in done.stdout


def test_every_module_of_the_app_is_loaded_before_the_first_session():
    from ui.__main__ import PAGE_MODULES

    modules = {p.stem for p in (ROOT / "ui").glob("*.py")} - {"__init__", "__main__", "resources"}
    assert set(PAGE_MODULES) == modules, "a new module in ui/ belongs in PAGE_MODULES (or it loads per first visit)"
