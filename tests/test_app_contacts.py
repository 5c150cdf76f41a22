"""The Contacts page through AppTest (issue 14 items 12 and 18): honest import reports, the cells that make a new
column text, rejected rows handed back whole, accent-insensitive search, a contact's detail view and erasure."""
from __future__ import annotations

import csv
import io

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from test_app import db, no_errors, start  # noqa: F401 - db is the fixture (600 demo contacts)

from ui.format import md


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


# ---- item 18: accent-insensitive search, a contact's detail view, erasure -------------------------------------------

PEOPLE = [{"email": "jn@example.com", "name": "José Ñúñez", "company": "Café Olé", "plan": "gold", "seats": 3},
          {"email": "jb@example.com", "name": "Jürgen Brückner", "company": "Straße GmbH"}]


def _results(at):
    """The search results table (AppTest does not expose a dataframe's key: found by its columns)."""
    return next(d.value for d in at.dataframe if list(d.value.columns[:2]) == ["id", "email"])


def _fields(at):
    """The detail view's table of fields, or None when no contact is open."""
    return next((d.value for d in at.dataframe if list(d.value.columns) == ["field", "type", "custom", "value"]), None)


def _search(at, text: str):
    at.text_input(key="contact_search").input(text).run()
    no_errors(at)
    return _results(at)


def test_search_ignores_accents(db):
    db.add_contacts(PEOPLE)
    at = start("app_pages/contacts.py")
    assert list(_search(at, "jose nunez")["email"]) == ["jn@example.com"]  # was: no contact (contains is exact)
    assert list(_search(at, "BRUCKNER")["email"]) == ["jb@example.com"]
    assert list(_search(at, "JOSÉ ÑÚÑEZ")["email"]) == ["jn@example.com"]
    assert list(_search(at, "strasse gmbh")["email"]) == ["jb@example.com"]
    assert any("ignoring case and accents" in c.value for c in at.caption)


def test_a_contact_opens_from_the_results_with_every_field(db):
    db.add_contacts(PEOPLE)
    at = start("app_pages/contacts.py")
    _search(at, "jose nunez")
    pick = at.selectbox(key="contact_pick:1")
    pick.set_value(db.get_contact("jn@example.com")["id"]).run()
    no_errors(at)
    contact = db.get_contact("jn@example.com")
    assert at.query_params["contact"] == str(contact["id"])  # the address carries it: a link to the contact
    fields = _fields(at)
    shown = dict(zip(fields["field"], fields["value"]))
    assert shown["id"] == str(contact["id"]) and shown["email"] == "jn@example.com"
    assert shown["name"] == "José Ñúñez" and shown["plan"] == "gold" and shown["seats"] == "3"
    assert shown["created_at"] == contact["created_at"] and shown["status"] == "(empty)"
    assert list(fields["field"])[:6] == ["id", "email", "name", "company", "status", "created_at"]
    assert at.selectbox(key="contact_pick:1").value is None  # the menu is free for the next pick


def test_a_link_opens_a_contact_by_email_or_id_and_a_bad_one_says_so(db):
    contact = db.contacts([], limit=1, offset=7)[0]
    for ref in (contact["email"].upper(), str(contact["id"])):
        at = start("app_pages/contacts.py", contact=ref)
        fields = _fields(at)
        assert dict(zip(fields["field"], fields["value"]))["email"] == contact["email"]
    at = start("app_pages/contacts.py", contact="nobody@example.com")
    assert any("No contact has the email" in w.value for w in at.warning), [w.value for w in at.warning]


def test_an_admin_erases_a_contact_after_a_confirmation_naming_it(db):
    db.add_contacts(PEOPLE)
    contact = db.get_contact("jn@example.com")
    label = f"jn@example.com (#{contact['id']})"
    at = start("app_pages/contacts.py", contact=contact["email"])
    assert at.sidebar.metric[0].value == "602"
    at.button(key="erase_contact").click().run()
    assert db.total_contacts() == 602  # nothing happens before the yes
    assert any(f"Erase **{md('José Ñúñez — ' + label)}**?" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    at.button(key="erase_yes").click().run()
    no_errors(at)
    assert db.total_contacts() == 601
    assert any("was erased" in s.value and "601 contacts remain" in s.value for s in at.success)
    assert at.sidebar.metric[0].value == "601"  # the count drops
    assert "contact" not in at.query_params and _fields(at) is None
    assert [e["action"] for e in db.audit_log(limit=1)] == ["erase"]


def test_cancel_keeps_the_contact(db):
    contact = db.contacts([], limit=1)[0]
    at = start("app_pages/contacts.py", contact=contact["id"])
    at.button(key="erase_contact").click().run()
    at.button(key="erase_no").click().run()
    no_errors(at)
    assert db.total_contacts() == 600 and at.button(key="erase_contact").label == "Erase this contact…"


def test_a_viewer_sees_erase_disabled_with_the_reason(db):
    from test_access_app import signed_in
    contact = db.contacts([], limit=1)[0]
    at = signed_in("ana@team.example", page="app_pages/contacts.py", contact=contact["email"])
    button = at.button(key="erase_contact")
    assert button.disabled and "admin role" in button.help
    fields = _fields(at)
    assert dict(zip(fields["field"], fields["value"]))["email"] == contact["email"]
