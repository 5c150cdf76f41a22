"""Issue 14 on the Build page, through AppTest: the preview and the export list the whole segment in the core's
order (SPEC §3 *Order*), saves say which version they were made from (SPEC §3 *Versions*) and a teammate's newer
save is never overwritten silently, and the export's columns, file name and encoding can be chosen."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from test_app import db  # noqa: F401 - the fixture: a real SQLite file with 600 demo contacts
from test_app import preview_table
from test_app import start as _start

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


def start(page: str | None = None, **query) -> AppTest:
    at = _start(page, **query)
    no_errors(at)
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown_ids(at: AppTest) -> list[int]:
    """The ids of the preview's rows, top to bottom."""
    header, rows = preview_table(at)
    return [int(row[header.index("id")]) for row in rows]


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
    assert any(words in c.value for c in at.caption if "all matching contacts" in c.value)  # the export
    page = next(n for n in at.number_input if n.key and n.key.startswith("preview_page:"))
    page.set_value(2).run()
    assert shown_ids(at) == want[25:50]


def test_the_preview_is_not_a_grid_whose_header_sorts_one_page(db):
    """st.dataframe's header click cannot be switched off in Streamlit 1.67: the preview is a static table."""
    at = start(rules=_encoded(ACTIVE))
    assert len(preview_table(at)[1]) == 25
    assert not [d for d in at.dataframe if "email" in d.value.columns]


HOSTILE_NAME = '<img src=x onerror="alert(1)"> :smile: $x^2$ **bold** & </td></table>'


def test_the_preview_shows_a_contacts_values_as_typed_never_as_markup(db):
    """The preview is plain HTML: every value is escaped, so markup, emoji short codes and maths stay text."""
    db.add_contacts([{"email": "hostile-preview@example.com", "name": HOSTILE_NAME, "status": "active"}])
    rules = [{"field": "email", "operator": "equals", "value": "hostile-preview@example.com"}]
    at = start(rules=_encoded(rules))
    header, rows = preview_table(at)
    assert len(rows) == 1
    assert rows[0][header.index("name")] == HOSTILE_NAME  # read back exactly
    body = next(h.value for h in at.get("html") if "<table>" in h.value)
    assert "<img" not in body and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body


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


# ---- item 3: a teammate's newer save is never overwritten silently ---------------------------------------------

PENDING = [{"field": "status", "operator": "equals", "value": "pending"}]
THEIRS = [{"field": "status", "operator": "equals", "value": "inactive"}]
MINE = [{"field": "status", "operator": "equals", "value": "active"}]


def _edit_status(at: AppTest, value: str) -> None:
    """Set the first rule's text value (the opened segment's `status is …`)."""
    row = [s.key.split(":")[0] for s in at.selectbox if s.key and s.key.endswith(":field")][0]
    at.text_input(key=f"{row}:v:status:string").input(value).run()


def _conflicted(db) -> tuple[AppTest, dict, dict]:
    """A opens a segment and edits it; meanwhile bob saves it (a write between two of A's reruns); A saves."""
    made = db.create_segment("Pending", PENDING)
    a = start(segment=str(made["id"]))
    _edit_status(a, "active")
    a.text_input(key=f"segment_name:{made['id']}").input("Mine").run()
    theirs = db.update_segment(made["id"], name="Theirs", rules=THEIRS, user="bob@team.example")
    a.button(key="save_segment").click().run()
    assert not a.exception, [e.message for e in a.exception]
    return a, made, theirs


def test_a_save_over_a_teammates_newer_save_is_refused_and_says_who_and_when(db):
    """Two teammates open segment 7; B saves, then A saves: both saw "Saved" and B's change was gone."""
    made = db.create_segment("Pending", PENDING)
    a, b = start(segment=str(made["id"])), start(segment=str(made["id"]))
    _edit_status(b, "inactive")
    b.button(key="save_segment").click().run()
    no_errors(b)
    assert any(f"Saved segment #{made['id']}" in s.value for s in b.success)
    after_b = db.get_segment(made["id"])
    assert (after_b["rules"], after_b["version"]) == (THEIRS, 2)

    _edit_status(a, "active")
    a.button(key="save_segment").click().run()
    assert not a.exception
    assert not any("Saved segment" in s.value for s in a.success)
    stored = db.get_segment(made["id"])
    assert (stored["rules"], stored["version"]) == (THEIRS, 2)  # B's change is kept
    warning = " ".join(w.value for w in a.warning)
    who = after_b["updated_by"]
    assert f"Not saved: segment #{made['id']} was changed by" in warning
    assert who.replace(".", "\\.").replace("-", "\\-") in warning or who in warning
    assert after_b["updated_at"][:10] in warning and "(version 2)" in warning
    assert {b.label for b in a.button if b.key and b.key.startswith("conflict_")} == {
        "Load their version", "Save mine as a new segment", "Overwrite anyway"}


def test_conflict_load_their_version(db):
    a, made, theirs = _conflicted(db)
    assert "bob@team\\.example" in " ".join(w.value for w in a.warning)
    a.button(key="conflict_load").click().run()
    no_errors(a)
    assert not a.warning or not any("Not saved" in w.value for w in a.warning)
    assert a.text_input(key=f"segment_name:{made['id']}").value == "Theirs"
    assert [t.value for t in a.text_input if t.key and ":v:status:" in t.key] == ["inactive"]
    stored = db.get_segment(made["id"])
    assert (stored["name"], stored["rules"], stored["version"]) == ("Theirs", THEIRS, 2)
    a.button(key="save_segment").click().run()  # their version is now the one opened: saving it is no conflict
    no_errors(a)
    assert db.get_segment(made["id"])["version"] == 3


def test_conflict_save_mine_as_a_new_segment(db):
    a, made, theirs = _conflicted(db)
    a.button(key="conflict_new").click().run()
    no_errors(a)
    listed = db.list_segments()
    assert [(s["id"], s["name"], s["rules"]) for s in listed] == [
        (made["id"], "Theirs", THEIRS), (listed[1]["id"], "Mine", MINE)]
    assert a.button(key="save_segment").label == f"Update segment #{listed[1]['id']}"
    assert any(f"Saved segment #{listed[1]['id']}" in s.value for s in a.success)


def test_conflict_overwrite_anyway(db):
    a, made, theirs = _conflicted(db)
    a.button(key="conflict_overwrite").click().run()
    no_errors(a)
    stored = db.get_segment(made["id"])
    assert (stored["name"], stored["rules"], stored["version"]) == ("Mine", MINE, 3)
    assert len(db.list_segments()) == 1
    _edit_status(a, "pending")  # saving again goes on from the version just saved
    a.button(key="save_segment").click().run()
    no_errors(a)
    assert db.get_segment(made["id"])["rules"] == PENDING


def _segments_page(db) -> tuple[AppTest, dict]:
    made = db.create_segment("Pending", PENDING)
    at = start("app_pages/segments.py")
    at.selectbox(key="segment_choice").set_value(made["id"]).run()
    return at, made


@pytest.mark.parametrize("choice, name, extra", [
    ("conflict_keep", "Theirs", []), ("conflict_overwrite", "Mine", []), ("conflict_new", "Theirs", [("Mine", PENDING)]),
])
def test_a_rename_over_a_teammates_newer_change_is_refused_then_chosen(db, choice, name, extra):
    """Rename says the version listed; "Save mine as a new segment" saves the segment as it was listed (rules
    included) under the new name, and theirs stays."""
    at, made = _segments_page(db)
    db.update_segment(made["id"], name="Theirs", rules=THEIRS, user="bob@team.example")
    at.text_input(key=f"rename:{made['id']}").input("Mine")
    at.button(key=f"rename_save:{made['id']}").click().run()
    assert not at.exception
    assert db.get_segment(made["id"])["name"] == "Theirs"
    warning = " ".join(w.value for w in at.warning)
    assert "Not renamed to “Mine”" in warning and "bob@team\\.example" in warning and "(version 2)" in warning
    at.button(key=f"{choice}:{made['id']}").click().run()
    no_errors(at)
    assert [(s["name"], s["rules"]) for s in db.list_segments()] == [(name, THEIRS)] + extra
    assert not any("Not renamed" in w.value for w in at.warning)


@pytest.mark.parametrize("choice, left", [("conflict_keep", 1), ("conflict_delete", 0)])
def test_a_delete_after_a_teammates_change_is_refused_then_chosen(db, choice, left):
    at, made = _segments_page(db)
    db.update_segment(made["id"], rules=THEIRS, user="bob@team.example")
    at.button(key=f"delete:{made['id']}").click().run()
    assert not at.exception
    assert len(db.list_segments()) == 1
    assert "Not deleted: #" in " ".join(w.value for w in at.warning)
    at.button(key=f"{choice}:{made['id']}").click().run()
    no_errors(at)
    assert len(db.list_segments()) == left


# ---- item 18: the preview's and the export's columns, the file name, the Excel option ---------------------------

@pytest.fixture
def exports(monkeypatch):
    """What the Build page's export button would download: each call of the panel's csv_export, with its file name
    and options, and the bytes its callable writes (AppTest cannot click a download)."""
    import ui.downloads
    import ui.panels

    made: list[dict] = []

    def recording(seg, rules, file_name=None, **options):
        build = ui.downloads.csv_export(seg, rules, file_name, **options)
        made.append({"file_name": file_name, **options, "bytes": build})
        return build

    monkeypatch.setattr(ui.panels, "csv_export", recording)
    return made


def _csv(data: bytes) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_the_columns_chosen_are_the_previews_and_the_exports(db, exports):
    at = start(rules=_encoded(ACTIVE))
    assert at.multiselect(key="preview_columns").value == [f["name"] for f in db.fields() if f["name"] not in
                                                           ("segment", "sample")]  # default: every field
    at.multiselect(key="preview_columns").set_value(["company", "email"]).run()
    at.selectbox(key="preview_order_by").set_value("company").run()
    no_errors(at)
    assert preview_table(at)[0] == ["company", "email"]
    rows = _csv(exports[-1]["bytes"]())
    assert rows[0] == ["company", "email"]
    want = python_order(db.contacts(ACTIVE), "company", False)
    emails = {c["id"]: c["email"] for c in db.contacts(ACTIVE)}
    assert [r[1] for r in rows[1:]] == [emails[i] for i in want]
    assert any("with the preview's 2 columns" in c.value for c in at.caption)
    at.multiselect(key="preview_columns").set_value([]).run()
    assert any("Choose at least one column" in w.value for w in at.warning)
    assert at.button(key="export_csv").disabled


def test_export_file_names_carry_the_segment_name_and_the_date(db, exports):
    from ui.format import today

    day = today().isoformat()
    at = start(rules=_encoded(ACTIVE))
    assert exports[-1]["file_name"] == f"segment-{day}.csv"  # rules on screen, not saved
    made = db.create_segment("Active Inc customers", ACTIVE)
    at = start(segment=str(made["id"]))
    assert exports[-1]["file_name"] == f"active-inc-customers-{day}.csv"
    assert any(f"`active-inc-customers-{day}.csv`" in c.value for c in at.caption)
    odd = db.create_segment("../Ünïcode: *x*/..", ACTIVE)
    start(segment=str(odd["id"]))
    assert exports[-1]["file_name"] == f"unicode-x-{day}.csv"
    none_left = db.create_segment("日本", ACTIVE)
    start(segment=str(none_left["id"]))
    assert exports[-1]["file_name"] == f"segment-{none_left['id']}-{day}.csv"


def test_the_excel_option_starts_the_download_with_a_bom_and_plain_utf8_does_not(db, exports):
    db.add_contacts([{"email": "jose@example.com", "name": "José Müller", "status": "active"}])
    at = start(rules=_encoded(ACTIVE))
    plain = exports[-1]["bytes"]()
    assert not plain.startswith(b"\xef\xbb\xbf") and plain.startswith(b"id,email,")
    at.radio(key="export_encoding").set_value("Excel (UTF-8 with BOM)").run()
    no_errors(at)
    excel = exports[-1]["bytes"]()
    assert excel == b"\xef\xbb\xbf" + plain
    assert "José Müller".encode() in excel
