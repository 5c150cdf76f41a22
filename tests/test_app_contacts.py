"""The Contacts page through AppTest (issue 14 items 12 and 18): honest import reports, the cells that make a new
column text, rejected rows handed back whole, accent-insensitive search, a contact's detail view and erasure."""
from __future__ import annotations

import csv
import io

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from test_app import no_errors, start

import segmenter


@pytest.fixture
def db(sqlite_url, monkeypatch):
    """A real SQLite file with 600 demo contacts, used by the app through $SEGMENTER_DATABASE_URL."""
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    with segmenter.connect(sqlite_url) as s:
        s.load_demo(600)
        yield s


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """What the page's download buttons serve, by file name (AppTest keeps media in memory only)."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes) and filename:
            files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def _upload(at, name: str, text: str):
    key = next(u.key for u in at.file_uploader if u.key.startswith("csv_file"))
    at.file_uploader(key=key).upload(name, text.encode(), "text/csv").run()
    no_errors(at)
    return at


def test_one_email_in_two_cases_is_reported_as_one_new_contact(db):
    at = _upload(start("app_pages/contacts.py"), "dup.csv", "email,name\ndup@x.com,First\nDUP@x.com,Second\n")
    at.button(key="import_csv").click().run()
    no_errors(at)
    said = [s.value for s in at.success]
    assert any("1 new, 0 updated, 0 rejected" in s and "1 row repeated an email" in s for s in said), said


def test_the_cells_that_make_a_new_column_text_are_shown_before_importing(db):
    rows = [f"p{i}@example.com,{i * 10}" for i in range(20)]
    rows[3] = "p3@example.com,n/a"
    at = _upload(start("app_pages/contacts.py"), "scores.csv", "email,score\n" + "\n".join(rows) + "\n")
    warned = [w.value for w in at.warning]
    assert any("score" in w and "text" in w and "1 cell is not numbers" in w for w in warned), warned
    cells = next(d.value for d in at.dataframe if list(d.value.columns) == ["line", "value"])
    assert cells.values.tolist() == [[5, "n/a"]]
    assert db.total_contacts() == 600  # shown before anything is written


def test_the_rejected_rows_csv_carries_the_original_row(db, served):
    text = "Email,Name,Plan\nok@example.com,Ok,gold\nnot-an-email,=Bad Row ,silver\n"
    at = _upload(start("app_pages/contacts.py"), "people.csv", text)
    at.button(key="import_csv").click().run()
    no_errors(at)
    assert at.download_button(key="rejected_csv")
    rows = list(csv.reader(io.StringIO(served["rejected-rows.csv"].decode())))
    assert rows[0] == ["Email", "Name", "Plan", "line", "reason"]  # was: line, reason only
    assert rows[1][:4] == ["not-an-email", "'=Bad Row ", "silver", "3"]  # as in the file, formula-guarded
    assert "does not look like an address" in rows[1][4] and len(rows) == 2
