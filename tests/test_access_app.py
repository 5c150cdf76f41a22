"""SPEC §10 in the app, through AppTest with secrets for each role. The signed-in person is ``AppTest.user`` —
Streamlit's own test seam for ``st.user``, which a running server never reads (it takes st.user from the
identity cookie that st.login sets)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import segmenter
from ui.downloads import csv_export

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 60
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x", "client_id": "c",
        "client_secret": "s", "server_metadata_url": "https://id.example/.well-known/openid-configuration"}
TEAM = {"allowed": ["@team.example", "guest@else.example"], "editors": ["ed@team.example"],
        "admins": ["boss@team.example"]}
ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def db(sqlite_url, monkeypatch):
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    with segmenter.connect(sqlite_url) as s:
        s.load_demo(300)
        yield s


def signed_in(email: str | None, *, verified: bool | None = True, team: dict | None = TEAM, page: str | None = None,
              script: Path = APP, **query) -> AppTest:
    at = AppTest.from_file(str(script), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    if team is not None:
        at.secrets["segmenter"] = team
    user: dict = {"is_logged_in": email is not None}
    if email is not None:
        user["email"] = email
        if verified is not None:
            user["email_verified"] = verified
    at.user = user
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shows_no_data(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.selectbox
    assert not [c for c in at.sidebar.caption if "sqlite:" in c.value]  # not even the database in use


# ---- who gets in ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("email, verified, why", [
    ("mallory@evil.example", True, "not on any list"),
    ("x@sub.team.example", True, "@domain matches exactly that domain"),
    ("x@evilteam.example", True, "@domain is not a suffix match"),
    ("ana@team.example", False, "@domain needs a verified email"),
    ("ana@team.example", None, "@domain needs a verified email (claim missing)"),
    ("guest@else.example", False, "an exact entry refuses an email the provider says is unverified"),
])
def test_someone_not_allowed_sees_a_refusal_naming_their_email_and_no_data(db, email, verified, why):
    at = signed_in(email, verified=verified)
    shows_no_data(at)
    assert len(at.error) == 1, why
    assert f"You signed in as **{email.replace('.', chr(92) + '.')}**" in at.error[0].value, why
    assert [b.label for b in at.button] == ["Sign out"]


def test_auth_without_an_allowed_list_lets_nobody_in(db):
    at = signed_in("boss@team.example", team={"admins": ["boss@team.example"]})
    shows_no_data(at)
    assert "not allowed" in at.error[0].value


def test_a_malformed_allow_list_lets_nobody_in_and_says_why(db):
    at = signed_in("ana@team.example", team={"allowed": ["team.example"]})
    shows_no_data(at)
    assert "neither an email nor an @domain entry" in at.error[0].value


def test_not_signed_in_gets_only_the_sign_in_button_on_every_page(db):
    for page in ("app_pages/build.py", "app_pages/segments.py", "app_pages/contacts.py", "app_pages/audit.py"):
        at = signed_in(None, script=ROOT / page)
        shows_no_data(at)
        assert [b.label for b in at.button] == ["Sign in"], page


def test_an_allowed_person_enters_as_a_viewer_with_a_verified_domain_email(db):
    at = signed_in("ana@team.example")
    assert not at.error
    assert at.metric  # the Build page shows counts
    assert "Signed in as ana@team\\.example (viewer)" in [c.value for c in at.sidebar.caption]


# ---- what each role may do --------------------------------------------------------------------------------------

def test_viewer_builds_rules_and_sees_counts_but_cannot_save_or_export(db):
    made = db.create_segment("Active", ACTIVE)
    at = signed_in("ana@team.example", segment=str(made["id"]))
    assert not at.error
    assert int(next(m.value for m in at.metric if m.label == "Matching contacts").replace(",", "")) == db.count(ACTIVE)
    save = at.button(key="save_segment")
    assert save.disabled and "needs the editor role" in save.help
    assert not [b for b in at.download_button if b.key == "export_csv"]
    export = at.button(key="export_csv")
    assert export.disabled and "Exporting contacts needs the editor role" in export.help
    assert not [t for t in at.text_input if t.key and t.key.startswith("segment_name")]
    assert [e["action"] for e in db.audit_log()] == ["demo"]  # the fixture's; nothing exported


def test_viewer_sees_segments_with_their_changes_disabled_and_no_definitions_import(db):
    made = db.create_segment("Active", ACTIVE)
    at = signed_in("ana@team.example", page="app_pages/segments.py")
    assert not at.error
    for key in (f"duplicate:{made['id']}", f"rename:{made['id']}", f"delete:{made['id']}"):
        assert at.button(key=key).disabled, key
    assert not at.get("file_uploader")
    assert any("importing segment definitions needs the admin role" in c.value.lower() for c in at.caption)


def test_viewer_and_editor_cannot_import_contacts(db):
    for email in ("ana@team.example", "ed@team.example"):
        at = signed_in(email, page="app_pages/contacts.py")
        assert not at.get("file_uploader"), email
        assert any("Importing contacts needs the admin role" in i.value for i in at.info), email


def test_viewer_has_no_audit_page_and_a_deep_link_to_it_is_refused(db):
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in the viewer's menu
        signed_in("ana@team.example").switch_page("app_pages/audit.py")
    at = signed_in("ana@team.example", script=ROOT / "app_pages" / "audit.py")
    assert at.error and "needs the admin role" in at.error[0].value
    assert not at.dataframe


def test_editor_saves_and_exports_and_the_export_is_audited_with_their_email(db):
    at = signed_in("ed@team.example")
    at.text_input(key="segment_name:new").input("Everyone").run()
    at.button(key="save_segment").click().run()
    assert not at.exception and not at.error
    saved = db.list_segments()
    assert [(s["name"], s["created_by"]) for s in saved] == [("Everyone", "ed@team.example")]
    assert [b.key for b in at.download_button if b.key == "export_csv"] == ["export_csv"]
    # What the download button serves, as the app builds it for this session (AppTest does not fetch downloads).
    editor = db.as_user("ed@team.example", "editor", via="app")
    data = csv_export(editor, ACTIVE, "segment.csv")()
    entry = db.audit_log(1)[0]
    assert (entry["who"], entry["via"], entry["action"], entry["file_name"], entry["rules"], entry["rows"]) == (
        "ed@team.example", "app", "export", "segment.csv", ACTIVE, db.count(ACTIVE))
    assert data.decode().count("\n") == db.count(ACTIVE) + 1


def test_only_an_admin_is_offered_the_demo_data_on_an_empty_team_database(sqlite_url, monkeypatch):
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    segmenter.connect(sqlite_url).close()
    viewer = signed_in("ana@team.example")
    assert not [b for b in viewer.button if b.key == "load_demo"]
    assert any("loading demo data" in i.value.lower() for i in viewer.info)
    admin = signed_in("boss@team.example")
    admin.button(key="load_demo").click().run()
    assert not admin.exception
    with segmenter.connect(sqlite_url) as s:
        assert s.total_contacts() == 20_000
        assert [(e["who"], e["action"], e["rows"]) for e in s.audit_log()] == [("boss@team.example", "demo", 20_000)]


def test_admin_sees_the_audit_page_with_the_log_newest_first(db):
    db.export_csv(ACTIVE, "/dev/null")
    db.as_user("ed@team.example", "editor", via="http").export_csv(ACTIVE, "/dev/null", file_name="segment-x.csv")
    at = signed_in("boss@team.example", page="app_pages/audit.py")
    assert not at.error
    shown = at.dataframe[0].value
    assert list(shown["who"][:2]) == ["ed@team.example", db.audit_log(2)[1]["who"]]
    assert list(shown["action"][:2]) == ["export", "export"] and list(shown["file_name"][:1]) == ["segment-x.csv"]


def test_admin_imports_a_csv_and_the_import_is_audited_in_the_app(db):
    at = signed_in("boss@team.example", page="app_pages/contacts.py")
    text = "Email,Name\nnew.one@example.com,New One\nnot-an-email,Bad\nnew.two@example.com,New Two\n"
    at.file_uploader(key="csv_file:0").upload("people.csv", text.encode(), "text/csv").run()
    at.button(key="import_csv").click().run()
    assert not at.exception and not at.error
    entry = db.audit_log(1)[0]
    assert (entry["who"], entry["via"], entry["action"], entry["file_name"], entry["rows"]) == (
        "boss@team.example", "app", "import", "people.csv", 2)


def test_without_auth_the_sidebar_says_the_app_is_local_and_open_to_whoever_reaches_it(db):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "No sign-in configured" in captions and "sees every contact" in captions
