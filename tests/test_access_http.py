"""SPEC §10 over HTTP: API keys with names and roles, on a real uvicorn server over a real SQLite file."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from helpers import LiveServer

import segmenter
from segmenter import SegmenterError
from segmenter.http import create_app

KEYS = "reporting:viewer:view-key-1,crm-sync:editor:edit-key-2,ops:admin:admin-key-3"
ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def server(seg, monkeypatch):
    monkeypatch.delenv("SEGMENTER_API_KEY", raising=False)
    monkeypatch.delenv("SEGMENTER_API_KEYS", raising=False)
    seg.add_contacts([{"email": f"p{i}@example.com", "status": "active"} for i in range(150)])
    live = LiveServer(create_app(seg, api_keys=KEYS, api_key="legacy-key-4"))
    yield live
    live.stop()


def client(server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"})


def forbidden(response: httpx.Response, role: str) -> None:
    assert response.status_code == 403, response.text
    assert f"needs the {role} role" in response.json()["detail"]


def test_a_viewer_key_reads_counts_previews_and_small_pages(server, seg):
    sid = seg.create_segment("Active", ACTIVE)["id"]
    with client(server, "view-key-1") as c:
        assert c.get("/api/segments").json()[0]["contacts_count"] == 150
        assert c.get(f"/api/segments/{sid}").status_code == 200
        assert c.get("/api/fields").status_code == 200
        assert c.post("/api/segments/preview", json={"rules": ACTIVE}).json() == {"contacts_count": 150}
        page = c.get("/api/segments/contacts", params={"segment_id": sid, "limit": 100})
        assert page.status_code == 200 and len(page.json()) == 100
        assert len(c.get("/api/segments/contacts", params={"segment_id": sid, "offset": 60}).json()) == 90


def test_a_viewer_key_gets_403_naming_the_role_on_writes_csv_and_big_pages(server, seg):
    sid = seg.create_segment("Active", ACTIVE)["id"]
    with client(server, "view-key-1") as c:
        forbidden(c.post("/api/segments", json={"name": "x", "rules": ACTIVE}), "editor")
        forbidden(c.post("/api/segments", json={"name": "", "rules": "not rules"}), "editor")  # before validation
        forbidden(c.patch(f"/api/segments/{sid}", json={"name": "y"}), "editor")
        forbidden(c.delete(f"/api/segments/{sid}"), "editor")
        forbidden(c.delete("/api/contacts", params={"email": "p1@example.com"}), "admin")
        forbidden(c.get("/api/segments/contacts", params={"segment_id": sid, "format": "csv"}), "editor")
        forbidden(c.get("/api/segments/contacts", params={"segment_id": sid, "format": "csv", "limit": 5}), "editor")
        forbidden(c.get("/api/segments/contacts", params={"segment_id": sid, "limit": 101}), "editor")
        forbidden(c.get("/api/segments/contacts", params={"segment_id": sid}), "editor")  # 150 rows in one page
        message = c.post("/api/segments", json={"name": "x", "rules": ACTIVE}).json()["detail"]
    assert "'reporting'" in message and "viewer" in message and "view-key-1" not in message
    assert [s["name"] for s in seg.list_segments()] == ["Active"]
    assert seg.audit_log(1)[0]["action"] == "add"  # nothing exported


def test_an_editor_key_saves_and_exports_and_the_audit_trail_names_the_key(server, seg):
    with client(server, "edit-key-2") as c:
        made = c.post("/api/segments", json={"name": "Active", "rules": ACTIVE})
        assert made.status_code == 201 and made.json()["created_by"] == "crm-sync"
        sid = made.json()["id"]
        body = c.get("/api/segments/contacts", params={"segment_id": sid, "format": "csv", "limit": 40}).text
        assert body.count("\n") == 41
        assert len(c.get("/api/segments/contacts", params={"segment_id": sid}).json()) == 150
        forbidden(c.delete("/api/contacts", params={"email": "p1@example.com"}), "admin")
    entry = seg.audit_log(1)[0]
    assert (entry["who"], entry["via"], entry["action"], entry["segment_id"], entry["file_name"], entry["rows"]) == (
        "crm-sync", "http", "export", sid, f"segment-{sid}.csv", 40)


def test_the_single_api_key_is_an_editor_named_in_the_audit_trail(server, seg):
    sid = seg.create_segment("Active", ACTIVE)["id"]
    with client(server, "legacy-key-4") as c:
        assert c.get("/api/segments/contacts", params={"segment_id": sid, "format": "csv"}).status_code == 200
        forbidden(c.delete("/api/contacts", params={"email": "p1@example.com"}), "admin")
    assert seg.audit_log(1)[0]["who"] == "SEGMENTER_API_KEY"


def test_an_admin_key_passes_the_role_check_everywhere_and_its_erasures_are_audited(server, seg):
    sid = seg.create_segment("Active", ACTIVE)["id"]
    with client(server, "admin-key-3") as c:
        assert c.get("/api/segments/contacts", params={"segment_id": sid, "format": "csv"}).status_code == 200
        assert seg.audit_log(1)[0]["who"] == "ops"
        erased = c.delete("/api/contacts", params={"email": ["p1@example.com", "p2@example.com"]})
        assert erased.status_code == 200 and erased.json() == {"deleted": 2}
        assert c.delete(f"/api/segments/{sid}").status_code == 204
    entry = seg.audit_log(1)[0]
    assert (entry["who"], entry["via"], entry["action"], entry["rows"], entry["rules"]) == ("ops", "http", "erase", 2,
                                                                                            None)


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer view-key-1x", "Basic view-key-1", "Bearer  x"])
def test_no_or_a_wrong_key_is_401(server, header):
    headers = {"Authorization": header} if header is not None else {}
    response = httpx.get(server.url + "/api/segments", headers=headers)
    assert response.status_code == 401


def test_a_malformed_api_keys_value_stops_the_app_and_the_serve_command(seg, sqlite_url, monkeypatch):
    with pytest.raises(SegmenterError, match="entry 2 .*unknown role 'reader'"):
        create_app(seg, api_keys="a:viewer:k1,b:reader:k2")
    monkeypatch.setenv("SEGMENTER_API_KEYS", "reporting:viewer")
    done = subprocess.run([sys.executable, "-m", "segmenter", "serve", "--database", sqlite_url, "--port", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "segmenter: error: SEGMENTER_API_KEYS entry 1 must be name:role:key, got 2 part(s)"


def test_without_keys_the_server_acts_as_its_own_identity_with_every_right(seg, monkeypatch):
    monkeypatch.delenv("SEGMENTER_API_KEY", raising=False)
    monkeypatch.delenv("SEGMENTER_API_KEYS", raising=False)
    monkeypatch.setenv("SEGMENTER_USER", "api-server")
    with segmenter.connect(seg.url) as own:
        live = LiveServer(create_app(own))
        try:
            sid = own.create_segment("Everyone", [])["id"]
            answer = httpx.get(live.url + "/api/segments/contacts", params={"segment_id": sid, "format": "csv"})
            assert answer.status_code == 200
        finally:
            live.stop()
    assert (seg.audit_log(1)[0]["who"], seg.audit_log(1)[0]["via"]) == ("api-server", "http")
