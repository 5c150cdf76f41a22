"""SPEC §10 in the core: seg.as_user and its roles, the app's allow lists, API key parsing, and the audit trail."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import segmenter
from segmenter import PermissionDenied, SegmenterError
from segmenter.access import Team, os_user
from segmenter.settings import parse_api_keys

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def filled(seg):
    seg.add_contacts([{"email": f"p{i}@example.com", "status": "active" if i % 2 else "inactive"} for i in range(300)])
    return seg


# ---- roles ---------------------------------------------------------------------------------------------------------

def test_as_user_shares_the_connection_and_snapshot_and_is_a_segmenter(filled):
    viewer = filled.as_user("ana@team.example", "viewer")
    assert isinstance(viewer, segmenter.Segmenter)
    assert viewer.snapshot is filled.snapshot and viewer.engine is filled.engine and viewer.backend is filled.backend
    filled.add_contacts([{"email": "new@example.com", "status": "active"}])
    assert viewer.count(ACTIVE) == filled.count(ACTIVE) == 151
    viewer.close()  # closes nothing that belongs to the Segmenter it came from
    assert filled.count(ACTIVE) == 151


VIEWER_CALLS = {
    "count": lambda s, sid: s.count(ACTIVE),
    "funnel": lambda s, sid: s.funnel(ACTIVE),
    "breakdown": lambda s, sid: s.breakdown(ACTIVE, "status"),
    "explain": lambda s, sid: s.explain(ACTIVE, "p1@example.com"),
    "fields": lambda s, sid: s.fields(),
    "list_segments": lambda s, sid: s.list_segments(),
    "get_segment": lambda s, sid: s.get_segment(sid),
    "a page of 100": lambda s, sid: s.get_segment_contacts(sid, limit=100),
    "contacts, page of 25": lambda s, sid: s.contacts(ACTIVE, limit=25, offset=50),
}
EDITOR_CALLS = {
    "create_segment": lambda s, sid: s.create_segment("x", ACTIVE),
    "update_segment": lambda s, sid: s.update_segment(sid, name="renamed"),
    "export_csv": lambda s, sid: s.export_csv(sid, io.StringIO()),
    "export_frames": lambda s, sid: list(s.export_frames(ACTIVE)),
    "match": lambda s, sid: s.match(ACTIVE),
    "a page of 101": lambda s, sid: s.get_segment_contacts(sid, limit=101),
    "every contact at once": lambda s, sid: s.contacts(ACTIVE),
    "delete_segment": lambda s, sid: s.delete_segment(sid),
}
ADMIN_CALLS = {
    "add_contacts": lambda s, sid: s.add_contacts([{"email": "zed@example.com"}]),
    "import_csv": lambda s, sid: s.import_csv(io.StringIO("email\nyan@example.com\n")),
    "load_demo": lambda s, sid: s.load_demo(10),
    "audit_log": lambda s, sid: s.audit_log(),
}


@pytest.mark.parametrize("role, allowed, denied_with", [
    ("viewer", VIEWER_CALLS, {**{k: ("editor", f) for k, f in EDITOR_CALLS.items()},
                              **{k: ("admin", f) for k, f in ADMIN_CALLS.items()}}),
    ("editor", {**VIEWER_CALLS, **EDITOR_CALLS}, {k: ("admin", f) for k, f in ADMIN_CALLS.items()}),
    ("admin", {**VIEWER_CALLS, **EDITOR_CALLS, **ADMIN_CALLS}, {}),
])
def test_each_role_may_do_what_the_spec_table_says_and_nothing_more(filled, role, allowed, denied_with):
    for name, (needed, call) in denied_with.items():
        sid = filled.create_segment("s", ACTIVE)["id"]
        before = (filled.total_contacts(), filled.list_segments(), filled.audit_log(10))
        with pytest.raises(PermissionDenied) as caught:
            call(filled.as_user(f"{role}@team.example", role), sid)
        message = str(caught.value)
        assert f"needs the {needed} role" in message and f"{role}@team.example" in message, name
        assert (filled.total_contacts(), filled.list_segments(), filled.audit_log(10)) == before, name
    for call in allowed.values():
        sid = filled.create_segment("s", ACTIVE)["id"]
        call(filled.as_user(f"{role}@team.example", role), sid)  # no PermissionDenied


def test_a_viewer_reads_the_whole_result_only_when_it_fits_in_one_page(filled):
    viewer = filled.as_user("ana@team.example", "viewer")
    few = [{"field": "email", "operator": "in", "value": ["p1@example.com", "p3@example.com"]}]
    assert [c["email"] for c in viewer.contacts(few)] == ["p1@example.com", "p3@example.com"]
    assert len(viewer.contacts(ACTIVE, offset=60)) == 90  # 150 match; 90 left after the offset
    with pytest.raises(PermissionDenied, match="needs the editor role"):
        viewer.contacts(ACTIVE, offset=40)


def test_permission_denied_is_a_segmenter_error_and_public():
    assert issubclass(PermissionDenied, SegmenterError) and segmenter.PermissionDenied is PermissionDenied
    assert "PermissionDenied" in segmenter.__all__


def test_as_user_checks_its_arguments_and_never_raises_a_role(filled):
    with pytest.raises(SegmenterError, match="unknown role 'owner'; expected one of: viewer, editor, admin"):
        filled.as_user("ana@team.example", "owner")
    with pytest.raises(SegmenterError, match="email"):
        filled.as_user("  ", "viewer")
    editor = filled.as_user("ed@team.example", "editor")
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        editor.as_user("ed@team.example", "admin")
    assert editor.as_user("someone@team.example", "viewer").role == "viewer"


def test_a_method_nobody_classified_is_closed_to_all_but_admins(filled, monkeypatch):
    monkeypatch.setattr(segmenter.Segmenter, "brand_new_thing", lambda self: "done", raising=False)
    from segmenter import access
    monkeypatch.setattr(access, "_SCOPED", None)  # the guard table is built again, seeing the new method
    monkeypatch.setattr(access, "_GUARDED", {})
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        filled.as_user("ed@team.example", "editor").brand_new_thing()
    assert filled.as_user("boss@team.example", "admin").brand_new_thing() == "done"


def test_saves_record_the_person_acting(filled):
    made = filled.as_user("ed@team.example", "editor").create_segment("Mine", ACTIVE)
    assert (made["created_by"], made["updated_by"]) == ("ed@team.example", "ed@team.example")


# ---- the app's allow lists ---------------------------------------------------------------------------------------

TEAM = Team.from_section({"allowed": ["@team.example", "Guest@Else.example"],
                          "editors": "ed@team.example, @eds.team.example", "admins": ["boss@team.example"]})


@pytest.mark.parametrize("email, verified, role", [
    ("ana@team.example", True, "viewer"),
    ("ANA@Team.Example", True, "viewer"),
    ("ed@team.example", True, "editor"),
    ("boss@team.example", True, "admin"),
    ("guest@else.example", None, "viewer"),     # an exact entry: the provider need not send email_verified
    ("guest@else.example", False, None),        # ... but an address it calls unverified is not that person
    ("ana@team.example", False, None),          # @domain: only a verified email
    ("ana@team.example", None, None),
    ("ana@sub.team.example", True, None),       # exactly that domain
    ("ana@evilteam.example", True, None),
    ("ana@team.example.evil", True, None),
    ("x@eds.team.example", True, None),         # an editor entry does not let anyone in by itself
    ("", True, None),
    (None, True, None),
])
def test_allow_lists_match_emails_and_exact_verified_domains(email, verified, role):
    assert TEAM.role_for(email, verified) == role


def test_no_allowed_list_lets_nobody_in_not_even_admins():
    team = Team.from_section({"admins": ["boss@team.example"], "editors": ["@team.example"]})
    assert team.role_for("boss@team.example", True) is None
    assert Team.from_section(None).role_for("boss@team.example", True) is None


@pytest.mark.parametrize("value, problem", [
    (["team.example"], "'team.example' is neither an email nor an @domain entry"),
    (["@"], "neither"), (["a@b@c.d"], "neither"), ([3], "neither"), ({"a": 1}, "must be a list"),
])
def test_a_malformed_list_entry_is_an_error_naming_it(value, problem):
    with pytest.raises(SegmenterError, match=problem):
        Team.from_section({"allowed": value})


# ---- API keys ------------------------------------------------------------------------------------------------------

def test_api_keys_parse_names_roles_and_keys_and_the_single_key_is_an_editor():
    keys = parse_api_keys("reporting:viewer:k-1, crm-sync:editor:k:2:with:colons ,ops:admin:k3", "legacy")
    assert [(k.name, k.role, k.key) for k in keys] == [
        ("reporting", "viewer", "k-1"), ("crm-sync", "editor", "k:2:with:colons"), ("ops", "admin", "k3"),
        ("SEGMENTER_API_KEY", "editor", "legacy")]
    assert "k-1" not in repr(keys)
    assert parse_api_keys(None, "") == [] and parse_api_keys("  ", None) == []


@pytest.mark.parametrize("value, problem", [
    ("reporting:viewer", "entry 1 must be name:role:key"),
    ("a:viewer:k1,,b:editor:k2", "entry 2 must be name:role:key"),
    ("a:viewer:k1,", "entry 2 must be name:role:key"),
    ("a:owner:k1", r"entry 1 \(a\): unknown role 'owner'; expected one of: viewer, editor, admin"),
    ("a:viewer:", r"entry 1 \(a\): the key is empty"),
    ("a:viewer:has space", "contains spaces"),
    (":viewer:k1", "the name '' must be"),
    ("a b:viewer:k1", "the name 'a b' must be"),
    ("a:viewer:k1,a:editor:k2", "the name 'a' is used twice"),
    ("a:viewer:k1,b:editor:k1", "the key of 'b' is also another entry's key"),
])
def test_a_malformed_api_keys_value_is_an_error_that_never_shows_a_key(value, problem):
    with pytest.raises(SegmenterError, match=problem) as caught:
        parse_api_keys(value)
    assert "k1" not in str(caught.value) and "k2" not in str(caught.value)


# ---- the audit trail -------------------------------------------------------------------------------------------

def test_every_export_import_and_add_is_recorded_newest_first(seg, tmp_path, monkeypatch):
    monkeypatch.delenv("SEGMENTER_USER", raising=False)
    seg.add_contacts([{"email": f"p{i}@example.com", "status": "active"} for i in range(5)])
    made = seg.create_segment("Active", ACTIVE)
    (tmp_path / "in.csv").write_text("email,status\nq1@example.com,active\nbad,active\nq2@example.com,active\n")
    seg.import_csv(tmp_path / "in.csv")
    written = seg.export_csv(made["id"], tmp_path / "out.csv")
    seg.as_user("key-reporting", "editor", via="http").export_csv(ACTIVE, io.StringIO(), file_name="segment.csv")
    log = seg.audit_log()
    assert [(e["action"], e["who"], e["via"], e["rows"]) for e in log] == [
        ("export", "key-reporting", "http", 7), ("export", os_user(), "python", written), ("import", os_user(),
        "python", 2), ("add", os_user(), "python", 5)]
    assert log[1]["segment_id"] == made["id"] and log[1]["rules"] == ACTIVE
    assert log[1]["file_name"] == str(tmp_path / "out.csv") and log[2]["file_name"] == str(tmp_path / "in.csv")
    assert log[0]["segment_id"] is None and log[0]["rules"] == ACTIVE and log[0]["file_name"] == "segment.csv"
    assert set(log[0]) == {"id", "at", "who", "via", "action", "segment_id", "segment_version", "rules",
                           "file_name", "rows"}
    assert log[0]["at"].endswith("Z") and log[0]["at"] >= log[-1]["at"]
    assert [e["id"] for e in seg.audit_log(limit=2)] == [log[0]["id"], log[1]["id"]]


def test_the_audit_trail_names_segmenter_user_when_set(seg, monkeypatch):
    monkeypatch.setenv("SEGMENTER_USER", "nightly-job")
    with segmenter.connect(seg.url) as job:
        job.export_csv(ACTIVE, io.StringIO())
    assert seg.audit_log(1)[0]["who"] == "nightly-job"


def test_an_export_records_the_rows_actually_taken(filled):
    frames = filled.export_frames(ACTIVE, batch=50, file_name="part.csv")
    next(frames)
    next(frames)  # the first batch is written: the consumer came back for the second
    frames.close()  # and stopped before finishing it (a dropped download)
    assert filled.audit_log(1)[0]["rows"] == 50
    assert filled.export_csv(ACTIVE, io.StringIO()) == filled.audit_log(1)[0]["rows"] == 150
    list(filled.export_frames(ACTIVE, limit=7, offset=3))
    assert filled.audit_log(1)[0]["rows"] == 7


def test_an_import_and_its_audit_entry_are_one_transaction(seg):
    with seg.engine.begin() as conn:  # the audit insert will fail: the contacts must not be written either
        conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    with pytest.raises(OperationalError, match="audit_log"):
        seg.import_csv(io.StringIO("email\nq1@example.com\n"))
    with pytest.raises(OperationalError, match="audit_log"):
        seg.add_contacts([{"email": "q2@example.com"}])
    assert seg.total_contacts() == 0


def test_audit_log_limit_is_checked(seg):
    for bad in (0, -1, 10_001, "5", True, None):
        with pytest.raises(SegmenterError, match="limit must be a whole number from 1 to 10,000"):
            seg.audit_log(bad)


def test_an_erasure_is_recorded_with_who_and_how_many_never_whom(filled, monkeypatch):
    monkeypatch.setenv("SEGMENTER_USER", "dpo-script")
    with segmenter.connect(filled.url) as job:
        assert job.delete_contacts(["p1@example.com", "p2@example.com", "nobody@example.com"]) == 2
    admin = filled.as_user("boss@team.example", "admin", via="app")
    assert admin.delete_contacts([{"field": "email", "operator": "in", "value": ["p3@example.com"]}]) == 1
    with pytest.raises(PermissionDenied, match="erasing contacts needs the admin role"):
        filled.as_user("ed@team.example", "editor").delete_contacts(["p4@example.com"])
    log = filled.audit_log(3)
    assert [(e["action"], e["who"], e["via"], e["rows"]) for e in log[:2]] == [
        ("erase", "boss@team.example", "app", 1), ("erase", "dpo-script", "python", 2)]
    assert all(e["rules"] is None and e["file_name"] is None for e in log[:2])
    assert "p3@example.com" not in str(log) and "p1@example.com" not in str(log)


def test_an_erasure_and_its_audit_entry_are_one_transaction(filled):
    with filled.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    with pytest.raises(OperationalError, match="audit_log"):
        filled.delete_contacts(["p1@example.com"])
    assert filled.explain([], "p1@example.com")["contact"]["email"] == "p1@example.com"


def test_the_command_line_records_its_imports_exports_and_erasures(seg, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SEGMENTER_USER": "nightly-job"}

    def run(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "segmenter", *args, "--database", seg.url], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    (tmp_path / "in.csv").write_text("email,status\nq1@example.com,active\nq2@example.com,active\n")
    run("import", str(tmp_path / "in.csv"))
    sid = seg.create_segment("Active", ACTIVE)["id"]
    run("export", str(sid), "-o", str(tmp_path / "out.csv"))
    run("forget", "q1@example.com")
    log = seg.audit_log(3)
    assert [(e["action"], e["who"], e["via"], e["rows"]) for e in log] == [
        ("erase", "nightly-job", "cli", 1), ("export", "nightly-job", "cli", 2), ("import", "nightly-job", "cli", 2)]
    assert (log[1]["segment_id"], log[1]["segment_version"], log[1]["file_name"]) == (sid, 1, str(tmp_path / "out.csv"))


def test_every_public_method_of_segmenter_is_classified():
    """A new method falls to admin-only until someone decides (fail closed); this says which ones wait."""
    from segmenter.access import NEEDS
    public = {n for n in dir(segmenter.Segmenter) if not n.startswith("_") and callable(getattr(segmenter.Segmenter, n))}
    assert sorted(public - set(NEEDS)) == []
