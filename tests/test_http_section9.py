"""SPEC §6 for §9 over HTTP: overlap, split, history, changes; 409 on deleting a used segment, 404 for changes before
any record, 422 for invalid parts, salt or since — on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import segmenter
from segmenter.http import create_app

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def client(any_url):
    with segmenter.connect(any_url) as s:
        s.add_contacts([{"email": f"p{i}@x.com", "status": "active" if i % 2 else "new",
                         "company": "Acme Inc" if i % 3 else None} for i in range(30)])
        with TestClient(create_app(s)) as c:
            yield c


def _create(client, name, rules) -> dict:
    r = client.post("/api/segments", json={"name": name, "rules": rules})
    assert r.status_code == 201, r.text
    return r.json()


def test_overlap_of_ids_and_rules(client):
    a = _create(client, "Active", ACTIVE)
    r = client.post("/api/segments/overlap",
                    json={"a": a["id"], "b": [{"field": "company", "operator": "contains", "value": "inc"}]})
    assert r.status_code == 200
    assert r.json() == {"a": 15, "b": 20, "both": 10, "only_a": 5, "only_b": 10, "either": 25, "jaccard": 0.4}
    bad = client.post("/api/segments/overlap", json={"a": a["id"], "b": [{"field": "nope", "operator": "is_empty"}]})
    assert bad.status_code == 422 and bad.json()["problems"][0].startswith("rule 1: unknown field 'nope'")
    assert client.post("/api/segments/overlap", json={"a": 999, "b": []}).status_code == 404
    assert client.post("/api/segments/overlap", json={"a": a["id"]}).status_code == 422


def test_split(client):
    a = _create(client, "Active", ACTIVE)
    body = {"segment_id": a["id"], "salt": "s1",
            "parts": [{"name": "A", "percent": 45}, {"name": "B", "percent": 45}, {"name": "holdout", "percent": 10}]}
    r = client.post("/api/segments/split", json=body)
    assert r.status_code == 200
    parts = r.json()
    assert [p["part"] for p in parts] == ["A", "B", "holdout"]
    assert sum(p["contacts_count"] for p in parts) == 15
    assert parts[1]["rules"][1] == {"field": "sample", "operator": "in_range",
                                    "value": {"salt": "s1", "from": 45, "to": 90}}
    saved = _create(client, "Part A", parts[0]["rules"])  # ready to save
    assert saved["contacts_count"] == parts[0]["contacts_count"]
    by_rules = client.post("/api/segments/split", json={**body, "segment_id": None, "rules": ACTIVE}).json()
    assert [p["contacts_count"] for p in by_rules] == [p["contacts_count"] for p in parts]
    for change, needle in [({"parts": [{"name": "A", "percent": 60}]}, "add up to 100, got 60"),
                           ({"salt": ""}, "salt that is a non-empty string"),
                           ({"rules": ACTIVE}, "give either segment_id or rules"),
                           ({"parts": [{"name": "A", "percent": 100, "x": 1}]}, "is not a known key")]:
        bad = client.post("/api/segments/split", json={**body, **change})
        assert bad.status_code == 422, change
        assert needle in bad.json()["detail"], bad.json()


def test_history_and_changes(client):
    a = _create(client, "Active", ACTIVE)
    hist = client.get(f"/api/segments/{a['id']}/history")
    assert hist.status_code == 200
    assert [(h["contacts_count"], h["entered"], h["left"]) for h in hist.json()] == [(15, 0, 0)]
    changes = client.get(f"/api/segments/{a['id']}/changes")
    assert changes.status_code == 200 and changes.json() == {"since": hist.json()[0]["at"], "entered": [], "left": []}
    since = client.get(f"/api/segments/{a['id']}/changes", params={"since": hist.json()[0]["at"]})
    assert since.status_code == 200
    early = client.get(f"/api/segments/{a['id']}/changes", params={"since": "2001-02-03"})
    assert early.status_code == 404 and "no membership record at or before 2001-02-03T00:00:00Z" in early.json()["detail"]
    bad = client.get(f"/api/segments/{a['id']}/changes", params={"since": "not a time"})
    assert bad.status_code == 422 and "since must be a date or an ISO 8601 datetime" in bad.json()["detail"]
    assert client.get("/api/segments/999/history").status_code == 404
    assert client.get("/api/segments/999/changes").status_code == 404


def test_deleting_a_used_segment_answers_409(client):
    a = _create(client, "Active", ACTIVE)
    b = _create(client, "Uses", [{"field": "segment", "operator": "in_segment", "value": a["id"]}])
    r = client.delete(f"/api/segments/{a['id']}")
    assert r.status_code == 409
    assert r.json()["detail"] == (f"segment {a['id']} is used by the rules of segment {b['id']} ('Uses'); "
                                  "change or delete those first")
    assert client.get(f"/api/segments/{a['id']}").status_code == 200
    loop = client.patch(f"/api/segments/{a['id']}", json={"rules": [{"field": "segment", "operator": "in_segment",
                                                                       "value": b["id"]}]})
    assert loop.status_code == 422 and loop.json()["detail"].endswith("is a loop")


def test_fields_list_the_pseudo_fields(client):
    fields = client.get("/api/fields").json()
    assert {"name": "segment", "type": "segment", "custom": False,
            "operators": ["in_segment", "not_in_segment"]} in fields
    assert {"name": "sample", "type": "sample", "custom": False, "operators": ["in_range"]} in fields
