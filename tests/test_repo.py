"""The repository keeps the promises a new user relies on: the README's commands are what CI runs, the locks pin
every requirement, the tests need nothing outside the checkout, one version, and no `pages/` folder."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import segmenter

ROOT = Path(__file__).resolve().parents[1]


def _code_lines(markdown: str) -> list[str]:
    return [line for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", markdown, re.S) for line in block.splitlines()]


def test_ci_runs_the_readme_test_command_verbatim():
    readme = _code_lines((ROOT / "README.md").read_text())
    test_command = next(line for line in readme if "pytest" in line)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci, f".ci/run must run the README's test command: {test_command}"
    assert "-c requirements-dev.lock" in test_command, "the test command installs the tested versions"
    app_command = next(line for line in readme if "python -m ui" in line)
    assert "-c requirements.lock" in app_command and app_command.endswith("python -m segmenter demo --if-empty && "
                                                                          "python -m ui")


def test_ci_installs_into_a_new_virtualenv_outside_the_checkout():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r'venv=\$\(mktemp -d', ci) and 'python3 -m venv "$venv"' in ci and '. "$venv/bin/activate"' in ci


def _requirements(path: Path) -> list[Requirement]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += _requirements(path.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def _lock(path: Path) -> dict[str, list[str]]:
    pins: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins.setdefault(canonicalize_name(m[1]), []).append(m[2])
    return pins


def test_every_requirement_is_pinned_in_its_lock_within_its_bounds():
    for reqs, lock in (("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")):
        pins = _lock(ROOT / lock)
        for req in _requirements(ROOT / reqs):
            name = canonicalize_name(req.name)
            assert name in pins, f"{req.name} ({reqs}) is not pinned in {lock}"
            for version in pins[name]:
                assert req.specifier.contains(version, prereleases=True), f"{lock} pins {name}=={version}: not {req}"
            for extra in req.extras:  # psycopg[binary] -> psycopg-binary must be pinned too
                assert canonicalize_name(f"{req.name}-{extra}") in pins, f"{req.name}[{extra}] not pinned in {lock}"


def test_the_app_lock_agrees_with_the_dev_lock():
    app, dev = _lock(ROOT / "requirements.lock"), _lock(ROOT / "requirements-dev.lock")
    differ = {name: (app[name], dev.get(name)) for name in app if sorted(app[name]) != sorted(dev.get(name, []))}
    assert not differ, f"the app would run other versions than the tests: {differ}"


def test_tests_need_nothing_outside_the_repository():
    # written in parts so this file does not match itself
    outside = ("../" + "shared", '"shared" / ' + '"data"')
    offenders = [p.name for p in (ROOT / "tests").glob("*.py") if any(o in p.read_text() for o in outside)]
    assert offenders == []
    assert (ROOT / "tests" / "data" / "customers-10000.csv").stat().st_size > 1_000_000
    assert "datablist" in (ROOT / "tests" / "data" / "README.md").read_text()


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "segmenter.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", segmenter.__version__)
    assert f"## [{segmenter.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_no_top_level_pages_folder():
    """Streamlit's `st.navigation` docstring: "As soon as any session of your app executes the ``st.navigation``
    command, your app will ignore the ``pages/`` directory (across all sessions)." Until then
    (`streamlit/runtime/pages_manager.py`: `uses_pages_directory = Path(main_script_parent / "pages").exists()`)
    a `pages/` folder beside app.py switches on the old folder navigation, so the first visitor after a restart who
    follows a link to a page gets it without the app's router and sidebar. The pages live in app_pages/
    (docs/architecture.md)."""
    assert not (ROOT / "pages").exists(), "move page files to app_pages/ and register them in app.py"
    assert (ROOT / "app_pages").is_dir()
