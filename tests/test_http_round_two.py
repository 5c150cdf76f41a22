"""HTTP API additions (SPEC §6): ETag and If-Match on segments, the one status table, order/desc/columns on the
contacts endpoint, DELETE /api/contacts, broken segments listed — over a real uvicorn server and SQLite file."""
from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from segmenter import PermissionDenied, SegmentConflict, SegmenterError, SegmentInUse
from segmenter.http import STATUS_BY_ERROR, status_for
from test_http import CONTACTS, SEED, api, assert_error, start  # noqa: F401 - fixtures


def test_get_sends_the_version_as_etag_and_patch_needs_a_matching_if_match(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    got = api.get(f"/api/segments/{seg_id}")
    assert got.headers["ETag"] == '"1"' and got.json()["version"] == 1
    renamed = api.patch(f"/api/segments/{seg_id}", json={"name": "A"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2 and renamed.headers["ETag"] == '"2"'
    stale = api.patch(f"/api/segments/{seg_id}", json={"name": "B"}, headers={"If-Match": '"1"'})
    assert_error(stale, 412, f"segment {seg_id} is at version 2, last changed by")
    assert api.patch(f"/api/segments/{seg_id}", json={"name": "C"}, headers={"If-Match": "*"}).json()["version"] == 3
    assert api.patch(f"/api/segments/{seg_id}", json={"name": "D"}).json()["version"] == 4  # no header: last wins
    assert api.get(f"/api/segments/{seg_id}").json()["name"] == "D"


@pytest.mark.parametrize("value", ['W/"1"', "1", '"1", "2"', '"x"', '""', '"0"', "garbage"])
def test_a_weak_or_malformed_if_match_answers_412_and_changes_nothing(api, value):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    assert_error(api.patch(f"/api/segments/{seg_id}", json={"name": "X"}, headers={"If-Match": value}), 412)
    assert_error(api.delete(f"/api/segments/{seg_id}", headers={"If-Match": value}), 412)
    kept = api.get(f"/api/segments/{seg_id}").json()
    assert (kept["name"], kept["version"]) == (SEED["name"], 1)


def test_delete_with_if_match(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    api.patch(f"/api/segments/{seg_id}", json={"name": "A"})
    assert_error(api.delete(f"/api/segments/{seg_id}", headers={"If-Match": '"1"'}), 412, "at version 2")
    assert api.delete(f"/api/segments/{seg_id}", headers={"If-Match": '"2"'}).status_code == 204
    assert_error(api.delete(f"/api/segments/{seg_id}", headers={"If-Match": '"2"'}), 404)
    assert_error(api.patch(f"/api/segments/{seg_id}", json={"name": "Z"}, headers={"If-Match": "*"}), 404)


def test_the_status_table_is_spec_s():
    table = dict(STATUS_BY_ERROR)
    assert table[PermissionDenied] == 403 and table[SegmentInUse] == 409 and table[SegmentConflict] == 412
    assert status_for(SegmentInUse(3, [5])) == 409 and status_for(PermissionDenied("needs editor")) == 403
    assert status_for(SegmenterError("limit must be ...")) == 400
    assert str(SegmentInUse(3, [5, 7])) == "segment 3 is used by the rules of segment 5, segment 7"


def test_contacts_in_order_with_chosen_columns_as_json_and_csv(api):
    seg_id = api.post("/api/segments", json={"name": "everyone", "rules": []}).json()["id"]
    params = {"segment_id": seg_id, "order_by": "name", "desc": "true"}
    names = [c["name"] for c in api.get("/api/segments/contacts", params=params).json()]
    assert names == ["Dan", "Bob", "Alice Chen", "=cmd|' /C calc'!A0"]  # '=' < 'a' by code point
    page = api.get("/api/segments/contacts", params={**params, "limit": 2, "offset": 1, "columns": "email,name"})
    assert page.json() == [{"email": "bob@globex.com", "name": "Bob"}, {"email": "alice@acme-inc.com",
                                                                          "name": "Alice Chen"}]
    assert page.headers["X-Total-Count"] == "4"
    csv_text = api.get("/api/segments/contacts", params={**params, "format": "csv", "columns": "plan,email"}).text
    assert list(csv.reader(io.StringIO(csv_text))) == [["plan", "email"], ["", "dan@solo.dev"], ["", "bob@globex.com"],
                                                       ["pro", "alice@acme-inc.com"], ["", "eve@evil.example"]]
    assert_error(api.get("/api/segments/contacts", params={"segment_id": seg_id, "order_by": "nope"}), 422,
                 "unknown field 'nope'; expected one of: id, email")
    assert_error(api.get("/api/segments/contacts", params={"segment_id": seg_id, "columns": "email,nope",
                                                           "format": "csv"}), 422, "unknown column 'nope'")
    assert_error(api.get("/api/segments/contacts", params={"segment_id": seg_id, "desc": "sideways"}), 400)


def test_delete_contacts_by_email(api, seg):
    seg_id = api.post("/api/segments", json={"name": "everyone", "rules": []}).json()["id"]
    gone = api.delete("/api/contacts", params=[("email", "Bob@Globex.com"), ("email", "dan@solo.dev"),
                                               ("email", "nobody@x.io")])
    assert gone.status_code == 200 and gone.json() == {"deleted": 2}
    assert api.get(f"/api/segments/{seg_id}").json()["contacts_count"] == 2
    assert_error(api.delete("/api/contacts"), 400, "query parameter 'email' is required")


def test_a_broken_segment_is_listed_with_an_error_not_a_500(api, seg, sqlite_url):
    seg_id = api.post("/api/segments", json={"name": "plan", "rules": [
        {"field": "plan", "operator": "equals", "value": "pro"}]}).json()["id"]
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:
        con.execute("DELETE FROM custom_fields WHERE name = 'plan'")
        con.execute("INSERT INTO contact_changes (contact_id) VALUES (NULL)")  # tell snapshots the schema moved
    listed = api.get("/api/segments")
    assert listed.status_code == 200
    (only,) = listed.json()
    assert only["contacts_count"] is None and "unknown field 'plan'" in only["error"]
    assert_error(api.get("/api/segments/contacts", params={"segment_id": seg_id}), 422, "unknown field 'plan'")


def test_a_body_over_2_mb_is_refused_with_413_before_parsing(api):
    big = b'{"name": "x", "rules": [' + b" " * (2 * 1024 * 1024) + b"]}"
    assert_error(api.post("/api/segments", content=big, headers={"Content-Type": "application/json"}), 413,
                 "over 2 MB")

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"name": "x", "rules": ['
        for _ in range(40):
            yield b" " * 65_536
        yield b"]}"
    assert_error(api.post("/api/segments", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    small = api.post("/api/segments", content=(c for c in [b'{"name": "x", ', b'"rules": []}']),
                     headers={"Content-Type": "application/json"})
    assert small.status_code == 201, small.text
    assert api.get("/api/segments").json()[0]["name"] == "x"
