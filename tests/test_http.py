"""The HTTP API (SPEC §6) over a real uvicorn server on loopback and a real SQLite file, driven with httpx."""
from __future__ import annotations

import csv
import io
import sqlite3
import threading

import httpx
import pytest
from helpers import LiveServer

import segmenter
from segmenter import PermissionDenied, SegmentConflict, SegmenterError, SegmentInUse
from segmenter.http import create_app
from segmenter.http.errors import STATUS_BY_ERROR, status_for

SEED = {"name": "Active Enterprise", "rules": [{"field": "status", "operator": "equals", "value": "active"},
                                               {"field": "company", "operator": "contains", "value": "Inc"}]}
CONTACTS = [
    {"email": "alice@acme-inc.com", "name": "Alice Chen", "company": "Acme Inc", "status": "active",
     "created_at": "2026-01-05T10:00:00Z", "plan": "pro"},
    {"email": "bob@globex.com", "name": "Bob", "company": "Globex Inc", "status": "inactive"},
    {"email": "eve@evil.example", "name": "=cmd|' /C calc'!A0", "company": "@Evil Inc", "status": "Active"},
    {"email": "dan@solo.dev", "name": "Dan", "status": "active"},
]


@pytest.fixture
def start(sqlite_url, monkeypatch):
    """Start a server on the test database; ``start(api_key=...)`` sets SEGMENTER_API_KEY first."""
    servers = []

    def _start(api_key: str | None = None) -> httpx.Client:
        if api_key is None:
            monkeypatch.delenv("SEGMENTER_API_KEY", raising=False)
        else:
            monkeypatch.setenv("SEGMENTER_API_KEY", api_key)
        servers.append(LiveServer(create_app(sqlite_url)))
        return httpx.Client(base_url=servers[-1].url, timeout=30)

    yield _start
    for s in servers:
        s.stop()


@pytest.fixture
def api(start, seg):
    seg.add_contacts(CONTACTS)
    with start() as client:
        yield client


def assert_error(response: httpx.Response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "problems"} and isinstance(body["problems"], list), body
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


# ---- the seed's examples ---------------------------------------------------------------------------------------

def test_seed_create_two_same_named_segments_then_list_them_by_id_with_counts(api):
    first = api.post("/api/segments", json=SEED)
    second = api.post("/api/segments", json=SEED)
    assert first.status_code == second.status_code == 201
    assert first.json()["name"] == second.json()["name"] == "Active Enterprise"
    listed = api.get("/api/segments").json()
    assert [s["id"] for s in listed] == sorted([first.json()["id"], second.json()["id"]])
    for s in listed:
        assert list(s)[:4] == ["id", "name", "rules", "contacts_count"]
        assert s["rules"] == SEED["rules"] and s["contacts_count"] == 2  # Alice, and Eve's "Active"/"@Evil Inc"


def test_seed_get_contacts_of_a_segment_ordered_by_id_in_the_documented_shape(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    contacts = api.get("/api/segments/contacts", params={"segment_id": seg_id}).json()
    assert [c["email"] for c in contacts] == ["alice@acme-inc.com", "eve@evil.example"]
    alice = contacts[0]
    assert list(alice)[:6] == ["id", "email", "name", "company", "status", "created_at"]
    assert alice["created_at"] == "2026-01-05T10:00:00Z" and alice["plan"] == "pro"
    assert contacts[1]["plan"] is None  # missing values are null


def test_counts_are_as_of_each_read(api, seg):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    seg.add_contacts([{"email": "new@acme-inc.com", "company": "Acme Inc", "status": "active"}])
    assert api.get(f"/api/segments/{seg_id}").json()["contacts_count"] == 3
    assert len(api.get("/api/segments/contacts", params={"segment_id": seg_id}).json()) == 3


# ---- the other endpoints ---------------------------------------------------------------------------------------

def test_paging_with_limit_and_offset(api):
    seg_id = api.post("/api/segments", json={"name": "everyone", "rules": []}).json()["id"]
    everyone = api.get("/api/segments/contacts", params={"segment_id": seg_id}).json()
    page = api.get("/api/segments/contacts", params={"segment_id": seg_id, "limit": 2, "offset": 1})
    assert len(everyone) == 4 and page.json() == everyone[1:3]
    assert page.headers["X-Total-Count"] == "4"


def test_get_patch_delete_one_segment(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    assert api.get(f"/api/segments/{seg_id}").json()["contacts_count"] == 2
    renamed = api.patch(f"/api/segments/{seg_id}", json={"name": "  Active Inc  "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Active Inc"
    assert renamed.json()["rules"] == SEED["rules"]
    changed = api.patch(f"/api/segments/{seg_id}", json={"rules": [{"field": "company", "operator": "is_empty"}]})
    assert changed.json()["contacts_count"] == 1 and changed.json()["name"] == "Active Inc"
    gone = api.delete(f"/api/segments/{seg_id}")
    assert gone.status_code == 204 and gone.content == b""
    assert_error(api.get(f"/api/segments/{seg_id}"), 404, f"segment {seg_id} not found")
    assert api.get("/api/segments").json() == []


def test_preview_counts_without_saving(api):
    response = api.post("/api/segments/preview", json={"rules": [
        SEED["rules"][0], {"match": "any", "rules": [{"field": "company", "operator": "contains", "value": "acme"},
                                                     {"field": "company", "operator": "is_empty"}]}]})
    assert response.status_code == 200 and response.json() == {"contacts_count": 2}  # Alice and Dan
    assert api.get("/api/segments").json() == []


def test_fields_list_core_then_custom_with_their_operators(api):
    fields = api.get("/api/fields").json()
    assert [f["name"] for f in fields][:6] == ["id", "email", "name", "company", "status", "created_at"]
    plan = next(f for f in fields if f["name"] == "plan")
    assert plan["type"] == "text" and plan["custom"] is True and "contains" in plan["operators"]
    created = next(f for f in fields if f["name"] == "created_at")
    assert "in_last_days" in created["operators"] and "contains" not in created["operators"]


def test_openapi_describes_the_seed_endpoints_with_the_core_models(api):
    schema = api.get("/openapi.json").json()
    assert {"/api/segments", "/api/segments/contacts", "/api/segments/{segment_id}", "/api/segments/preview",
            "/api/fields"} <= set(schema["paths"])
    assert {"RuleModel", "GroupModel", "SegmentIn", "SegmentOut", "ContactOut", "ErrorOut"} <= set(
        schema["components"]["schemas"])
    post = schema["paths"]["/api/segments"]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    assert schema["components"]["schemas"]["SegmentIn"]["examples"][0]["name"] == "Active Enterprise"


# ---- CSV -------------------------------------------------------------------------------------------------------

def test_csv_format_streams_a_formula_guarded_download(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    response = api.get("/api/segments/contacts", params={"segment_id": seg_id, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:6] == ["id", "email", "name", "company", "status", "created_at"] and "plan" in rows[0]
    eve = dict(zip(rows[0], rows[2]))
    assert eve["name"] == "'=cmd|' /C calc'!A0" and eve["company"] == "'@Evil Inc"
    alice = dict(zip(rows[0], rows[1]))
    assert alice["created_at"] == "2026-01-05T10:00:00Z" and alice["name"] == "Alice Chen"


def test_csv_honours_limit_and_offset_and_matches_json(api):
    seg_id = api.post("/api/segments", json={"name": "everyone", "rules": []}).json()["id"]
    params = {"segment_id": seg_id, "limit": 2, "offset": 1}
    rows = list(csv.DictReader(io.StringIO(api.get("/api/segments/contacts",
                                                   params={**params, "format": "csv"}).text)))
    page = api.get("/api/segments/contacts", params=params).json()
    assert [int(r["id"]) for r in rows] == [c["id"] for c in page] and len(rows) == 2


def test_csv_of_an_unknown_segment_is_a_json_404(api):
    assert_error(api.get("/api/segments/contacts", params={"segment_id": 999, "format": "csv"}), 404,
                 "segment 999 not found")


# ---- bad input -------------------------------------------------------------------------------------------------

def test_invalid_rules_name_the_rule_position_and_the_valid_choices(api):
    body = {"name": "x", "rules": [SEED["rules"][0], {"field": "company", "operator": "contain", "value": "Inc"}]}
    error = assert_error(api.post("/api/segments", json=body), 422,
                         "rule 2: unknown operator 'contain' for text field 'company'; expected one of: equals")
    assert len(error["problems"]) == 1
    assert api.get("/api/segments").json() == []  # never stored


@pytest.mark.parametrize("rules, fragment", [
    ([{"field": "nope", "operator": "equals", "value": "x"}], "rule 1: unknown field 'nope'; expected one of: id,"),
    ([{"field": "created_at", "operator": "contains", "value": "x"}],
     "rule 1: operator 'contains' is not valid for datetime field 'created_at'"),
    ([{"field": "status", "operator": "equals"}], "rule 1: operator 'equals' on text field 'status' needs a value"),
    ([{"field": 5, "operator": "equals", "value": "x"}], "rule 1: unknown field 5"),
    ([{"match": "any", "rules": []}], "rule 1: a group needs at least one rule"),
    ([{"field": "status", "operator": "equals", "value": "a", "extra": 1}], "rule 1: unknown key 'extra'"),
    ("status=active", "rules must be a JSON array"),
])
def test_every_rule_problem_is_a_422_worded_as_the_spec(api, rules, fragment):
    assert_error(api.post("/api/segments", json={"name": "x", "rules": rules}), 422, fragment)
    assert_error(api.post("/api/segments/preview", json={"rules": rules}), 422, fragment)


def test_invalid_rules_on_patch_change_nothing(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    assert_error(api.patch(f"/api/segments/{seg_id}", json={"rules": [{"field": "x", "operator": "equals"}]}),
                 422, "rule 1: unknown field 'x'")
    assert api.get(f"/api/segments/{seg_id}").json()["rules"] == SEED["rules"]


@pytest.mark.parametrize("body, fragment", [
    ({"name": "   ", "rules": []}, "name must not be empty"),
    ({"name": "x" * 201, "rules": []}, "at most 200"),
    ({"name": 5, "rules": []}, "name must be a string"),
    ({"rules": []}, "body field 'name' is required"),
    ({"name": "x"}, "body field 'rules' is required"),
    ({"name": "x", "rules": [], "colour": "red"}, "unknown key 'colour'"),
    ([SEED], "the request body must be a JSON object, got a list"),
])
def test_bad_segment_bodies_are_422_with_a_message(api, body, fragment):
    assert_error(api.post("/api/segments", json=body), 422, fragment)


def test_malformed_json_is_a_400_naming_where(api):
    response = api.post("/api/segments", content=b'{"name": "x", "rules": [}',
                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed JSON body at character")


def test_missing_body_and_wrong_content_type(api):
    assert_error(api.post("/api/segments"), 422, "request body is required")
    assert_error(api.post("/api/segments", content=b'{"name": "x", "rules": []}',
                          headers={"Content-Type": "text/plain"}), 422, "application/json")


@pytest.mark.parametrize("params, status, fragment", [
    ({}, 400, "query parameter 'segment_id' is required"),
    ({"segment_id": "abc"}, 400, "query parameter 'segment_id' must be a whole number, got 'abc'"),
    ({"segment_id": "1.5"}, 400, "must be a whole number"),
    ({"segment_id": 424242}, 404, "segment 424242 not found"),
    ({"segment_id": 0}, 404, "segment 0 not found"),
    ({"segment_id": 10**30}, 404, "not found"),
    ({"segment_id": 1, "limit": -1}, 400, "query parameter 'limit'"),
    ({"segment_id": 1, "offset": "x"}, 400, "query parameter 'offset' must be a whole number"),
    ({"segment_id": 1, "format": "xml"}, 400, "query parameter 'format'"),
])
def test_contacts_endpoint_bad_parameters(api, params, status, fragment):
    """SPEC §6: a parameter that does not parse is a 400 (malformed); an unknown segment a 404."""
    api.post("/api/segments", json=SEED)
    assert_error(api.get("/api/segments/contacts", params=params), status, fragment)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_or_non_numeric_segment_paths(api, method):
    body = {"json": {"name": "x"}} if method == "PATCH" else {}
    assert_error(api.request(method, "/api/segments/77", **body), 404, "segment 77 not found")
    assert_error(api.request(method, "/api/segments/seven", **body), 400, "path parameter 'segment_id'")


def test_unknown_paths_and_methods_answer_json(api):
    assert_error(api.get("/api/nothing"), 404, "GET /api/nothing")
    assert_error(api.put("/api/segments"), 405, "method not allowed")


# ---- the API key -----------------------------------------------------------------------------------------------

def test_no_key_set_means_no_auth_needed(start, seg):
    with start() as client:
        assert client.get("/api/segments").status_code == 200
        assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic czNjcjN0", "Bearer", "bearer s3cr3t-key x"])
def test_key_set_rejects_missing_or_wrong_credentials_on_every_endpoint(start, header):
    with start(api_key="s3cr3t-key") as client:
        headers = {"Authorization": header} if header else {}
        for method, path, body in [("GET", "/api/segments", None), ("POST", "/api/segments", SEED),
                                   ("GET", "/api/segments/contacts?segment_id=1", None),
                                   ("GET", "/api/segments/1", None), ("PATCH", "/api/segments/1", {"name": "y"}),
                                   ("DELETE", "/api/segments/1", None), ("POST", "/api/segments/preview", {"rules": []}),
                                   ("GET", "/api/fields", None), ("POST", "/api/segments", b"{not json")]:
            kw = {"content": body} if isinstance(body, bytes) else {"json": body} if body else {}
            response = client.request(method, path, headers=headers, **kw)
            assert_error(response, 401, "API key")
            assert response.headers["www-authenticate"] == "Bearer"


def test_key_set_accepts_the_right_bearer_token_and_guards_the_description_too(start):
    with start(api_key="s3cr3t-key") as client:
        auth = {"Authorization": "Bearer s3cr3t-key"}
        created = client.post("/api/segments", json=SEED, headers=auth)
        assert created.status_code == 201
        assert client.get("/api/segments", headers={"Authorization": "bearer s3cr3t-key"}).status_code == 200
        schema = client.get("/openapi.json", headers=auth)
        assert schema.status_code == 200
        assert schema.json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert client.get("/docs", headers=auth).status_code == 200
        for path in ("/openapi.json", "/docs", "/redoc"):  # SPEC §6: every request needs the key
            assert_error(client.get(path), 401, "API key")


def test_one_segmenter_serves_concurrent_requests(api):
    seg_id = api.post("/api/segments", json=SEED).json()["id"]
    results: list[int] = []

    def read():
        with httpx.Client(base_url=str(api.base_url), timeout=30) as c:
            for _ in range(5):
                results.append(len(c.get("/api/segments/contacts", params={"segment_id": seg_id}).json()))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2] * 20


def test_create_app_accepts_a_segmenter_and_leaves_it_open(seg):
    app = create_app(seg, api_key="")
    assert app.state.segmenter is seg
    server = LiveServer(app)
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/api/fields").status_code == 200
    finally:
        server.stop()
    assert seg.list_segments() == []  # still usable: the caller owns it


def test_a_bug_still_answers_json_and_is_logged(seg, caplog):
    app = create_app(seg)

    def boom():
        raise RuntimeError("a bug")
    app.add_api_route("/api/boom", boom)
    server = LiveServer(app)
    try:
        with httpx.Client(base_url=server.url) as client:
            assert_error(client.get("/api/boom"), 500, "internal error")
    finally:
        server.stop()
    assert any("unexpected error on GET /api/boom" in r.getMessage() for r in caplog.records)


def test_the_seed_examples_on_postgresql(pg_url):
    with segmenter.connect(pg_url) as seg:
        seg.add_contacts(CONTACTS)
        server = LiveServer(create_app(seg))
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                ids = [client.post("/api/segments", json=SEED).json()["id"] for _ in range(2)]
                listed = client.get("/api/segments").json()
                assert [s["id"] for s in listed] == ids and [s["contacts_count"] for s in listed] == [2, 2]
                contacts = client.get("/api/segments/contacts", params={"segment_id": ids[0]}).json()
                assert [c["email"] for c in contacts] == ["alice@acme-inc.com", "eve@evil.example"]
                assert_error(client.get("/api/segments/3000000000"), 404, "not found")  # beyond INTEGER
        finally:
            server.stop()


def test_docs_give_a_curl_example_for_every_endpoint(seg):
    """docs/api.md stays in step with the app: each operation in the schema has a curl line."""
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    curls = [line for line in docs.splitlines() if line.lstrip().startswith("curl ")]
    for path, operations in create_app(seg).openapi()["paths"].items():
        pattern = re.escape("$BASE" + path).replace(re.escape("{segment_id}"), r"\d+") + r"(?![\w/])"
        for method in operations:
            verb = "" if method == "get" else f"-X {method.upper()} "
            assert any(re.search(pattern, c) and (verb in c if verb else "-X " not in c) for c in curls), \
                f"docs/api.md has no curl example for {method.upper()} {path}"


# ---- round two: versions, the status table, order and columns, erasure, broken segments, body limit ----------


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
