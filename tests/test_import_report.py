"""The CSV import report tells the truth (issue 14 item 12): contacts counted once however many rows name them,
the cells that made a new column text listed before anything is written, and rejected rows handed back whole."""
from __future__ import annotations

import pytest

import segmenter
from segmenter.csv_import import MAX_TEXT_CELLS


@pytest.fixture(params=["memory", "sql"])
def any_seg(sqlite_url, request):
    with segmenter.connect(sqlite_url, backend=request.param) as s:
        yield s


def test_one_email_in_two_cases_in_a_new_file_is_one_new_contact_not_an_update(any_seg):
    report = any_seg.import_csv("email,name\ndup@x.com,First\nDUP@x.com,Second\n")
    assert (report.inserted, report.updated, report.repeated) == (1, 0, 1)  # was 1 new, 1 updated
    assert any_seg.contacts([])[0]["name"] == "Second"  # the later row wins (SPEC §1)
    assert report.as_dict()["repeated"] == 1


def test_updated_counts_contacts_that_existed_before_the_import(any_seg):
    any_seg.add_contacts([{"email": "old@x.com"}])
    report = any_seg.import_csv("email,plan\nold@x.com,a\nOLD@x.com,b\nnew@x.com,c\nnew@x.com,d\nbad,e\n")
    assert (report.inserted, report.updated, report.repeated, len(report.rejected)) == (1, 1, 2, 1)
    assert report.inserted + report.updated + report.repeated + len(report.rejected) == 5  # every row accounted


def test_the_cells_that_make_a_new_column_text_are_listed_with_their_lines(seg):
    rows = [f"p{i}@x.com,{i}" for i in range(30)]
    rows[4] = "p4@x.com,n/a"
    rows[17] = "p17@x.com,12 000"
    plan = seg.preview_csv("email,score\n" + "\n".join(rows) + "\n")
    score = next(c for c in plan.columns if c.header == "score")
    assert score.type == "text" and score.would_be == "number"
    assert score.text_cells == [(6, "n/a"), (19, "12 000")] and score.text_cell_count == 2  # physical lines
    email = next(c for c in plan.columns if c.header == "email")
    assert email.would_be is None and email.text_cells == []


def test_only_the_first_cells_are_listed_and_a_text_column_by_nature_lists_none(seg):
    rows = [f"p{i}@x.com,{i},Name {i},0{i}" for i in range(200)]
    for i in range(0, 200, 8):  # 25 odd cells out of 200
        rows[i] = f"p{i}@x.com,unknown,Name {i},0{i}"
    plan = seg.preview_csv("email,score,name,zip\n" + "\n".join(rows) + "\n")
    by = {c.header: c for c in plan.columns}
    assert by["score"].text_cell_count == 25 and len(by["score"].text_cells) == MAX_TEXT_CELLS
    assert by["score"].text_cells[0] == (2, "unknown")
    assert by["name"].would_be is None  # an existing field, and text anyway
    assert by["zip"].would_be is None and by["zip"].text_cells == []  # leading zeros: text by design, not by a few


def test_rejected_rows_carry_their_original_cells(seg):
    report = seg.import_csv("Email,Name,Score\nok@x.com,Ok,1\nnot-an-email, Bad Row ,2\n")
    assert report.headers == ["Email", "Name", "Score"]
    assert [(r.line, r.cells) for r in report.rejected] == [(3, ("not-an-email", " Bad Row ", "2"))]


def test_the_cli_says_how_many_rows_repeated_an_email(sqlite_url, tmp_path):
    import subprocess
    import sys

    source = tmp_path / "dup.csv"
    source.write_text("email,name\ndup@x.com,First\nDUP@x.com,Second\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "segmenter", "import", str(source), "--database", sqlite_url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "inserted: 1  updated: 0  rejected: 0  repeated emails: 1 rows"

