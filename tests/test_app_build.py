"""Issue 14 on the Build page, through AppTest: the preview and the export list the whole segment in the core's
order (SPEC §3 *Order*), saves say which version they were made from (SPEC §3 *Versions*) and a teammate's newer
save is never overwritten silently, and the export's columns, file name and encoding can be chosen."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import segmenter

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 60  # seconds per script run; the machine is shared, and a first run opens the database
ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def db(sqlite_url, monkeypatch):
    """A real SQLite file with 600 demo contacts, used by the app through $SEGMENTER_DATABASE_URL."""
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    with segmenter.connect(sqlite_url) as s:
        s.load_demo(600)
        yield s


def start(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    no_errors(at)
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown_ids(at: AppTest) -> list[int]:
    """The ids of the preview's rows, top to bottom."""
    assert len(at.table) == 1, "the preview is one static table"
    return [int(i) for i in at.table[0].value["id"]]


def python_order(contacts: list[dict], field: str, descending: bool) -> list[int]:
    """SPEC §3 *Order* read literally, over every matching contact: text by str.lower, empty values last whichever
    the direction, ties by id ascending. (Independent of the core's two back ends.)"""
    def filled(c):
        return c.get(field) not in (None, "")

    def value(c):
        v = c[field]
        return v.lower() if isinstance(v, str) and field != "created_at" else v

    full = sorted((c for c in contacts if filled(c)), key=lambda c: c["id"])
    full.sort(key=value, reverse=descending)  # stable: ties keep id ascending
    return [c["id"] for c in full] + sorted(c["id"] for c in contacts if not filled(c))


# ---- item 2: sorting means the whole segment ------------------------------------------------------------------

@pytest.mark.parametrize("field, descending, words", [
    ("created_at", True, "ordered by created_at, newest first, empty last"),
    ("company", False, "ordered by company, A→Z, empty last"),
    ("company", True, "ordered by company, Z→A, empty last"),
    ("id", True, "ordered by id, highest first"),
])
def test_the_preview_sorts_the_whole_segment_through_the_core(db, field, descending, words):
    """A grid header click sorted only the 25 rows on screen while the caption said "ordered by id"; the newest
    contact of the segment never appeared. Now "Sort by" orders every matching contact and the caption says how."""
    newest = db.add_contacts([{"email": "newest@example.com", "status": "active", "company": "Zzz Newest",
                               "created_at": "2030-01-01"}])[0]
    matching = db.contacts(ACTIVE)
    assert len(matching) > 25
    at = start(rules=_encoded(ACTIVE))
    assert shown_ids(at) == [c["id"] for c in matching[:25]]  # by id until asked otherwise
    at.selectbox(key="preview_order_by").set_value(field).run()
    at.radio(key="preview_descending").set_value(descending).run()
    no_errors(at)
    want = python_order(matching, field, descending)
    assert shown_ids(at) == want[:25]
    if field == "created_at" or (field == "company" and descending):
        assert shown_ids(at)[0] == newest  # the newest contact of the whole segment, not of the page on screen
    assert f"Contacts 1–25 of {len(matching):,}, {words}" in [c.value for c in at.caption]
    assert any(words in c.value for c in at.caption if c.value.startswith("All matching contacts"))  # the export
    page = next(n for n in at.number_input if n.key and n.key.startswith("preview_page:"))
    page.set_value(2).run()
    assert shown_ids(at) == want[25:50]


def test_the_preview_is_not_a_grid_whose_header_sorts_one_page(db):
    """st.dataframe's header click cannot be switched off in Streamlit 1.67: the preview is a static table."""
    at = start(rules=_encoded(ACTIVE))
    assert len(at.table) == 1
    assert not [d for d in at.dataframe if "email" in d.value.columns]


def test_the_export_uses_the_preview_order(db):
    from ui.downloads import csv_export
    import csv
    import io

    rows = list(csv.reader(io.StringIO(csv_export(db, ACTIVE, order_by="created_at", descending=True)()
                                       .decode("utf-8"))))
    want = python_order(db.contacts(ACTIVE), "created_at", True)
    assert [int(r[0]) for r in rows[1:]] == want


def _encoded(rules: list) -> str:
    from ui.format import encode_rules

    return encode_rules(rules)
