"""The command line (SPEC §5), run as ``python -m segmenter`` in a subprocess on a temporary SQLite file."""
from __future__ import annotations

import csv
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import segmenter

ROOT = Path(__file__).resolve().parents[1]
SEED_RULES = [{"field": "status", "operator": "equals", "value": "active"},
              {"field": "company", "operator": "contains", "value": "Inc"}]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("SEGMENTER_DATABASE_URL", "SEGMENTER_API_KEY")}
    environ.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-m", "segmenter", *args], capture_output=True, text=True,
                          cwd=ROOT, env=environ, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_demo_fills_the_database(sqlite_url):
    result = run("demo", "--size", "150", "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "150" in result.stdout
    with segmenter.connect(sqlite_url) as seg:
        assert seg.total_contacts() == 150


def test_demo_if_empty_loads_only_into_an_empty_database(sqlite_url):
    first = run("demo", "--size", "30", "--if-empty", "--database", sqlite_url)
    assert first.returncode == 0 and "loaded 30" in first.stdout, first.stderr
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "mine@x.com"}])
    again = run("demo", "--size", "500", "--if-empty", "--database", sqlite_url)
    assert again.returncode == 0 and "no demo data loaded" in again.stdout
    with segmenter.connect(sqlite_url) as seg:
        assert seg.total_contacts() == 31


def test_database_option_works_before_the_command_and_from_the_environment(sqlite_url):
    assert run("--database", sqlite_url, "demo", "--size", "20").returncode == 0
    result = run("segments", env={"SEGMENTER_DATABASE_URL": sqlite_url})
    assert result.returncode == 0 and "no segments" in result.stdout
    with segmenter.connect(sqlite_url) as seg:
        assert seg.total_contacts() == 20


def test_import_the_sample_file_reports_inserted_updated_rejected(sqlite_url, sample_csv):
    first = run("import", str(sample_csv), "--database", sqlite_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "inserted: 10,000  updated: 0  rejected: 0"
    again = run("import", str(sample_csv), "--database", sqlite_url)
    assert again.stdout.splitlines()[0] == "inserted: 0  updated: 10,000  rejected: 0"
    with segmenter.connect(sqlite_url) as seg:
        assert seg.total_contacts() == 10_000


def test_import_lists_rejected_rows_with_their_line_numbers(sqlite_url, tmp_path):
    source = tmp_path / "people.csv"
    source.write_text("Email,Name,Score\nann@example.com,Ann,3\nnot-an-email,Bob,4\n,Nobody,5\ncy@example.com,Cy,6\n",
                      encoding="utf-8")
    result = run("import", str(source), "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "inserted: 2  updated: 0  rejected: 2"
    rejected = [line for line in lines if line.startswith("rejected line")]
    assert [line.split(":")[0] for line in rejected] == ["rejected line 3", "rejected line 4"]
    assert "not-an-email" in rejected[0] and "email" in rejected[1]
    assert "new field: score (number)" in lines


def test_import_dayfirst(sqlite_url, tmp_path):
    source = tmp_path / "dates.csv"
    source.write_text("email,joined\na@example.com,02-07-2020\n", encoding="utf-8")
    assert run("import", str(source), "--dayfirst", "--database", sqlite_url).returncode == 0
    with segmenter.connect(sqlite_url) as seg:
        assert seg.count([{"field": "joined", "operator": "on", "value": "2020-07-02"}]) == 1


def test_segments_prints_a_table_of_id_name_count(sqlite_url):
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "a@acme-inc.com", "company": "Acme Inc", "status": "active"},
                          {"email": "b@b.com", "status": "active"}])
        first = seg.create_segment("Active Enterprise", SEED_RULES)["id"]
        second = seg.create_segment("Everyone", [])["id"]
    result = run("segments", "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [["id", "name", "count"], [str(first), "Active", "Enterprise", "1"], [str(second), "Everyone", "2"]]


def test_export_writes_the_segment_as_csv(sqlite_url, tmp_path):
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "a@acme-inc.com", "name": "=SUM(A1)", "company": "Acme Inc", "status": "active"},
                          {"email": "b@b.com", "status": "active"}])
        seg_id = seg.create_segment("Active Enterprise", SEED_RULES)["id"]
    out = tmp_path / "out.csv"
    result = run("export", str(seg_id), "-o", str(out), "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "wrote 1 contacts" in result.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["email"] for r in rows] == ["a@acme-inc.com"] and rows[0]["name"] == "'=SUM(A1)"


def test_export_to_stdout(sqlite_url):
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "a@acme-inc.com", "company": "Acme Inc", "status": "active"}])
        seg_id = seg.create_segment("Active Enterprise", SEED_RULES)["id"]
    result = run("export", str(seg_id), "-o", "-", "--database", sqlite_url)
    assert result.stdout.splitlines()[0].startswith("id,email,name,company,status,created_at")
    assert "a@acme-inc.com" in result.stdout


@pytest.mark.parametrize("segment_id, message", [("42", "segment 42 not found"),
                                                 ("abc", "segment 'abc' not found"),
                                                 ("99999999999999999999", "not found")])
def test_export_of_a_bad_segment_id_is_one_clear_line_and_writes_nothing(sqlite_url, tmp_path, segment_id, message):
    out = tmp_path / "never.csv"
    result = run("export", segment_id, "-o", str(out), "--database", sqlite_url)
    assert_one_line_error(result, "segmenter: error:", message)
    assert not out.exists()


@pytest.mark.parametrize("args, fragment", [
    (["import", "/no/such/file.csv"], "cannot read '/no/such/file.csv'"),
    (["segments", "--database", "nosuchdialect://x"], "cannot open database"),
    (["segments", "--database", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot open database"),
    (["demo", "--size", "0"], "--size must be at least 1"),
    (["demo", "--size", "many"], "invalid int value: 'many'"),
    (["export", "1"], "the following arguments are required: -o/--output"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(sqlite_url, args, fragment):
    if "--database" not in args:
        args = [*args, "--database", sqlite_url]
    assert_one_line_error(run(*args), fragment)


def test_serve_on_a_busy_port_is_one_clear_line(sqlite_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_one_line_error(run("serve", "--port", str(port), "--database", sqlite_url),
                              f"cannot listen on 127.0.0.1:{port}: Address already in use")


def test_serve_answers_the_http_api(sqlite_url):
    with segmenter.connect(sqlite_url) as seg:
        seg.create_segment("Active Enterprise", SEED_RULES)
    with socket.socket() as s:  # a free port; the tiny race with another process is acceptable here
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEGMENTER_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "segmenter", "serve", "--port", str(port), "--database", sqlite_url],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        response = None
        for _ in range(200):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/segments", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response is not None and response.status_code == 200 and response.json()[0]["name"] == "Active Enterprise"
    finally:
        proc.terminate()
        proc.wait(10)


# ---- forget, export order and columns, broken segments ---------------------------------------------------------


FORGET_PEOPLE = [{"email": "b@x.io", "name": "bob", "score": 2}, {"email": "a@x.io", "name": "Alice", "score": 10},
          {"email": "c@x.io", "score": 5}, {"email": "d@x.io", "name": "alice"}]


def test_forget_erases_by_email_and_says_how_many(any_url):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts(FORGET_PEOPLE)
    result = run("forget", "A@x.io", "b@x.io", "nobody@x.io", "--database", any_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "erased 2 contacts (1 of the 3 emails matched no contact)"
    with segmenter.connect(any_url) as seg:
        assert sorted(c["email"] for c in seg.contacts([])) == ["c@x.io", "d@x.io"]
    assert_one_line_error(run("forget", "--database", any_url), "the following arguments are required: EMAIL")


def test_export_in_order_with_chosen_columns(any_url, tmp_path):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts(FORGET_PEOPLE)
        seg_id = seg.create_segment("everyone", [])["id"]
    out = tmp_path / "out.csv"
    result = run("export", str(seg_id), "-o", str(out), "--order-by", "name", "--columns", "name,email",
                 "--database", any_url)
    assert result.returncode == 0, result.stderr
    assert list(csv.reader(out.open(encoding="utf-8"))) == [
        ["name", "email"], ["Alice", "a@x.io"], ["alice", "d@x.io"], ["bob", "b@x.io"], ["", "c@x.io"]]
    result = run("export", str(seg_id), "-o", "-", "--order-by", "score", "--desc", "--database", any_url)
    assert [r["email"] for r in csv.DictReader(result.stdout.splitlines())] == ["a@x.io", "c@x.io", "b@x.io", "d@x.io"]
    never = tmp_path / "never.csv"
    assert_one_line_error(run("export", str(seg_id), "-o", str(never), "--order-by", "nope", "--database", any_url),
                          "unknown field 'nope'; expected one of: id, email")
    assert_one_line_error(run("export", str(seg_id), "-o", str(never), "--columns", "email,zip", "--database",
                              any_url), "unknown column 'zip'")
    assert not never.exists()


def test_segments_lists_a_broken_segment_with_its_reason(sqlite_url):
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "a@x.io", "vip": True}])
        seg.create_segment("VIP", [{"field": "vip", "operator": "is_true"}])
        seg.create_segment("all", [])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:
        con.execute("DELETE FROM custom_fields WHERE name = 'vip'")
    result = run("segments", "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["1", "VIP", "-"] and lines[2].split() == ["2", "all", "1"]
    assert lines[3].startswith("segment 1 cannot be evaluated: rule 1: unknown field 'vip'")
