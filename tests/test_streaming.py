"""Issue 12: the JSON contacts endpoint streams. ``Segmenter.contact_batches`` gives exactly ``contacts`` (same
records, same order, same page) a batch at a time on both back ends and both databases, checks everything at the
call, keeps a viewer's page limit; the HTTP endpoint sends the JSON array as it reads it (no Content-Length)."""
from __future__ import annotations

import json

import httpx
import pytest
from helpers import LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmenter
from segmenter import PermissionDenied, RuleError, SegmenterError, SegmentNotFound
from segmenter.http import create_app

STATUSES = ["active", "inactive", "trial", "", None]


def people(n: int) -> list[dict]:
    return [{"email": f"p{i}@x.com", "name": f"Person {i % 17}", "company": f"Co {i % 5}" if i % 4 else None,
             "status": STATUSES[i % 5], "mrr": (i * 37) % 11 if i % 3 else None,
             "created_at": f"2026-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00Z"} for i in range(n)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def both(request, tmp_path_factory):
    """One database filled once, read through the memory and the SQL back end."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('stream') / 's.db'}"
        yield from _pair(url)
    else:
        from helpers import fresh_pg_database
        with fresh_pg_database("seg_stream") as url:
            yield from _pair(url)


def _pair(url: str):
    with segmenter.connect(url, backend="memory") as memory, segmenter.connect(url, backend="sql") as sql:
        memory.add_contacts(people(130))
        segment = memory.create_segment("active or trial", [{"field": "status", "operator": "in",
                                                            "value": ["active", "trial"]}])
        yield {"memory": memory, "sql": sql}, segment["id"]


RULES = st.sampled_from([[], [{"field": "status", "operator": "equals", "value": "active"}],
                         [{"field": "mrr", "operator": "greater_than", "value": 3}],
                         [{"field": "company", "operator": "is_empty"}]])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=RULES, saved=st.booleans(), limit=st.one_of(st.none(), st.integers(0, 140)),
       offset=st.integers(0, 140), order_by=st.sampled_from([None, "name", "mrr", "created_at", "company"]),
       descending=st.booleans(), batch=st.integers(1, 60))
def test_batches_are_the_contacts_page_cut_in_pieces(both, rules, saved, limit, offset, order_by, descending,
                                                     batch):
    segs, segment_id = both
    for name, seg in segs.items():
        target = segment_id if saved else rules
        whole = (seg.get_segment_contacts(segment_id, limit=limit, offset=offset, order_by=order_by,
                                          descending=descending) if saved
                 else seg.contacts(rules, limit=limit, offset=offset, order_by=order_by, descending=descending))
        batches = list(seg.contact_batches(target, limit=limit, offset=offset, order_by=order_by,
                                           descending=descending, batch=batch))
        assert [r for b in batches for r in b] == whole, name
        assert all(len(b) <= batch for b in batches), name


def test_everything_is_checked_at_the_call_not_when_read(both):
    segs, _ = both
    for seg in segs.values():
        with pytest.raises(SegmentNotFound):
            seg.contact_batches(987654)
        with pytest.raises(RuleError, match="order"):
            seg.contact_batches([], order_by="no_such_field")
        with pytest.raises(RuleError):
            seg.contact_batches([{"field": "status", "operator": "equals"}])
        with pytest.raises(SegmenterError, match="limit"):
            seg.contact_batches([], limit=-1)
        with pytest.raises(SegmenterError, match="batch"):
            seg.contact_batches([], batch=0)


def test_a_viewer_still_reads_at_most_a_page_of_100(both):
    segs, segment_id = both
    viewer = segs["memory"].as_user("v@x.com", "viewer")
    with pytest.raises(PermissionDenied, match="more than 100"):
        viewer.contact_batches([])  # 130 contacts: more than one viewer page
    with pytest.raises(PermissionDenied):
        viewer.contact_batches(segment_id, limit=101)
    assert [r for b in viewer.contact_batches(segment_id, limit=10, offset=3) for r in b] == \
        segs["memory"].get_segment_contacts(segment_id, limit=10, offset=3)


def test_the_http_endpoint_streams_the_json_array(sqlite_url, monkeypatch):
    monkeypatch.delenv("SEGMENTER_API_KEY", raising=False)
    monkeypatch.delenv("SEGMENTER_API_KEYS", raising=False)
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts(people(25_000))
        everyone = seg.create_segment("everyone", [])["id"]
        active = seg.create_segment("active", [{"field": "status", "operator": "equals", "value": "active"}])["id"]
        expected = seg.get_segment_contacts(everyone)
        expected_active = seg.get_segment_contacts(active, order_by="name", descending=True, limit=7, offset=2)
        expected_narrow = [{"email": c["email"], "mrr": c["mrr"]} for c in seg.get_segment_contacts(active, limit=3)]
    server = LiveServer(create_app(sqlite_url))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            with client.stream("GET", "/api/segments/contacts", params={"segment_id": everyone}) as response:
                assert response.status_code == 200
                assert "content-length" not in response.headers  # sent as it is read, not built whole first
                assert response.headers["content-type"].startswith("application/json")
                chunks = list(response.iter_raw())
            assert len(chunks) > 1
            body = json.loads(b"".join(chunks))
            assert body == expected and response.headers["x-total-count"] == "25000"
            page = client.get("/api/segments/contacts", params={"segment_id": active, "order_by": "name",
                                                                 "desc": "true", "limit": 7, "offset": 2})
            assert page.json() == expected_active
            narrow = client.get("/api/segments/contacts", params={"segment_id": active, "columns": "email,mrr",
                                                                   "limit": 3})
            assert narrow.json() == expected_narrow and [list(c) for c in narrow.json()] == [["email", "mrr"]] * 3
            empty = client.get("/api/segments/contacts", params={"segment_id": active, "offset": 10**6})
            assert empty.status_code == 200 and empty.json() == []
            missing = client.get("/api/segments/contacts", params={"segment_id": 424242})
            assert missing.status_code == 404 and "424242" in missing.json()["detail"]
    finally:
        server.stop()
