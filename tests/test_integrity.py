"""Data integrity (issue 11): plain SQL the triggers cannot see (SQLite's REPLACE), an emptied or rewound change
log, a custom field dropped by hand, a damaged cache file, concurrent imports that disagree on a new field's type.
Each test failed on the code before the fix."""
from __future__ import annotations

import logging
import random
import sqlite3
import zlib

import pytest
from sqlalchemy import create_engine, text

import segmenter
from segmenter import snapshot_cache
from segmenter.errors import ContactError, RuleError
from segmenter.snapshot import Snapshot


def _people(n: int, start: int = 0, **extra) -> list[dict]:
    return [{"email": f"p{i}@example.com", "name": f"P {i}", "status": ["active", "inactive"][i % 2], **extra}
            for i in range(start, start + n)]


def _plain_sql(url: str, *statements: str) -> None:
    """Statements as an analyst would run them: a plain connection with no pragmas of ours."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        with con:
            for s in statements:
                con.execute(s)
        con.close()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        for s in statements:
            conn.execute(text(s))
    engine.dispose()


def _sql_count(url: str, where: str = "1=1") -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM contacts WHERE {where}")).scalar_one()
    engine.dispose()
    return n


ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


# ---- 1. ghost contacts after SQLite's REPLACE ----

@pytest.mark.parametrize("statement", [
    "INSERT OR REPLACE INTO contacts (email, status) VALUES ('p1@example.com', 'inactive')",
    "REPLACE INTO contacts (email, status) VALUES ('p3@example.com', 'active')",
    "UPDATE OR REPLACE contacts SET email = 'p5@example.com' WHERE email = 'p6@example.com'",
    "INSERT OR REPLACE INTO contacts (id, email, status) VALUES (2, 'p7@example.com', 'gone')",
])
def test_sqlite_replace_leaves_no_ghost_contacts(sqlite_url, statement):
    with segmenter.connect(sqlite_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count([]) == 10 and seg.count(ACTIVE) == 5
        _plain_sql(sqlite_url, statement)
        assert seg.count([]) == _sql_count(sqlite_url)
        assert seg.count(ACTIVE) == _sql_count(sqlite_url, "status = 'active'")
        ids = sorted(c["id"] for c in seg.contacts([]))
        con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        assert ids == [r[0] for r in con.execute("SELECT id FROM contacts ORDER BY id")]
        con.close()


# ---- 2. an emptied or rewound change log ----

def _empty_log(url: str, rewind: bool) -> list[str]:
    if url.startswith("sqlite"):
        return ["DELETE FROM contact_changes"] + (["DELETE FROM sqlite_sequence WHERE name = 'contact_changes'"]
                                                  if rewind else [])
    return ["TRUNCATE contact_changes" + (" RESTART IDENTITY" if rewind else "")]


@pytest.mark.parametrize("rewind", [False, True], ids=["emptied", "rewound"])
def test_changes_just_before_the_log_is_emptied_are_not_lost(any_url, rewind):
    with segmenter.connect(any_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count(ACTIVE) == 5
        _plain_sql(any_url, "UPDATE contacts SET status = 'active' WHERE email IN ('p1@example.com', 'p3@example.com')",
                   "DELETE FROM contacts WHERE email = 'p0@example.com'",
                   *_empty_log(any_url, rewind))
        assert seg.count(ACTIVE) == _sql_count(any_url, "status = 'active'") == 6
        assert seg.count([]) == 9
        # and the log keeps working afterwards
        seg.add_contacts(_people(2, start=20))
        _plain_sql(any_url, "UPDATE contacts SET status = 'inactive' WHERE email = 'p2@example.com'")
        assert seg.count(ACTIVE) == _sql_count(any_url, "status = 'active'")
        assert seg.count([]) == 11


def test_the_newest_log_entries_deleted_before_they_were_seen(sqlite_url):
    with segmenter.connect(sqlite_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count(ACTIVE) == 5
        _plain_sql(sqlite_url, "UPDATE contacts SET status = 'active' WHERE email = 'p1@example.com'",
                   "DELETE FROM contact_changes WHERE seq = (SELECT max(seq) FROM contact_changes)")
        assert seg.count(ACTIVE) == 6


# ---- 3. a custom field dropped by hand ----

@pytest.mark.parametrize("backend", ["memory", "sql"])
def test_a_custom_field_dropped_by_hand(any_url, backend):
    with segmenter.connect(any_url, backend=backend) as seg:
        seg.add_contacts(_people(6, plan="pro"))
        on_plan = [{"field": "plan", "operator": "equals", "value": "pro"}]
        saved = seg.create_segment("Pro", on_plan)
        assert saved["contacts_count"] == 6
        _plain_sql(any_url, "ALTER TABLE contacts DROP COLUMN plan")
        # the field is gone for every reader at once
        assert "plan" not in [f["name"] for f in seg.fields()]
        listed = {s["id"]: s for s in seg.list_segments()}
        assert listed[saved["id"]]["contacts_count"] is None
        with pytest.raises(RuleError, match="plan"):
            seg.count(on_plan)
        with pytest.raises(RuleError, match="plan"):
            seg.create_segment("Pro again", on_plan)
        # later rows never read the column's name as a value
        seg.add_contacts(_people(2, start=10))
        assert all("plan" not in c for c in seg.contacts([]))
        assert seg.count([]) == 8
        # and the field can be made again, as new
        seg.add_contacts([{"email": "p0@example.com", "plan": 3}])
        assert {"name": "plan", "type": "number", "custom": True} in seg.fields()
        assert seg.count([{"field": "plan", "operator": "equals", "value": 3}]) == 1


# ---- 5. a damaged cache file ----

def _cached(seg) -> Snapshot:
    snap = Snapshot(seg.engine)
    snap.cache_min_rows = 0
    snap.refresh()
    return snap


def _active(snap: Snapshot) -> int:
    pos = snap.columns["status"].codes_equal_to("active")
    return int((snap.alive & __import__("numpy").isin(snap.columns["status"].codes, pos)).sum())


def _damage(path, how: str, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    if how == "bit":
        i = rng.randrange(len(data) - snapshot_cache.TRAILER.size)
        data[i] ^= 1 << rng.randrange(8)
    elif how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "garbage":
        i = rng.randrange(len(data) // 2)
        data[i:i + 64] = bytes(rng.randrange(256) for _ in range(64))
    elif how == "rewritten":  # a buffer rewritten with a fresh checksum of the old content: the metadata kept
        body = data[: -snapshot_cache.TRAILER.size]
        body = body.replace(b"inactive", b"active\x00\x00")
        data = body + snapshot_cache.TRAILER.pack(zlib.crc32(bytes(data[: -snapshot_cache.TRAILER.size])),
                                                  len(body), snapshot_cache.MAGIC)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["bit", "truncate", "garbage", "rewritten"])
def test_a_damaged_cache_file_is_rebuilt_from_the_table(seg, how, caplog):
    seg.add_contacts(_people(400))
    first = _cached(seg)
    assert first.last_load["cache_written"]
    path = snapshot_cache.path_for(seg.engine)
    rng = random.Random(how)
    for _ in range(8):
        _damage(path, how, rng)
        with caplog.at_level(logging.WARNING, logger="segmenter"):
            snap = _cached(seg)
        assert snap.last_load["source"] == "database"
        assert snap.alive_count == 400 and _active(snap) == 200
        assert "rebuilding it from the table" in caplog.text
        caplog.clear()
        assert _cached(seg).last_load["source"] == "cache"  # the rebuilt file is good again


def test_a_cache_truncated_while_in_use_does_not_kill_the_process(seg):
    seg.add_contacts(_people(400))
    _cached(seg)
    snap = _cached(seg)
    assert snap.last_load["source"] == "cache"
    path = snapshot_cache.path_for(seg.engine)
    with open(path, "r+b") as f:
        f.truncate(10)  # a mapped file would now raise SIGBUS on the next read of its pages
    assert snap.alive_count == 400 and _active(snap) == 200
    assert snap.records(snap.positions_of(snap.ids[-3:]))[0]["email"].endswith("@example.com")


# ---- 8. two imports adding the same field with different types ----

def test_a_field_made_meanwhile_with_another_type_is_a_clear_error(any_url):
    with segmenter.connect(any_url) as first, segmenter.connect(any_url) as second:
        first.add_contacts(_people(1))
        second.catalogue()  # the second has read the fields before the first adds 'plan'
        parsed_as_text = "email,plan\np1@example.com,gold\n"
        first.import_csv("email,plan\np2@example.com,3\n")
        # The second's plan was made for a catalogue without 'plan' (text); it now exists as number.
        from segmenter import audit, csv_import
        parsed = csv_import.parse_csv(parsed_as_text, {"email": "text"})
        entry = audit.Entry("import", "second@team.example", "python", file_name="plan.csv")
        with pytest.raises(ContactError, match=r"'plan'.*number.*text"):
            second._write([r for _l, r in parsed.rows], dict(parsed.plan.new_fields), entry)
        assert _sql_count(any_url) == 2  # nothing written
        assert all(e["who"] != "second@team.example" for e in first.audit_log())  # nor its audit entry


# ---- 4. keys: Unicode letters kept, 63 bytes, reserved names, clashes are errors ----

def test_keys_with_no_ascii_letters_keep_their_own_names(any_url):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts([{"email": "a@x.com", "日本": "東京", "中国": "北京", "Straße": "Hauptstraße 1"}])
        custom = {f["name"] for f in seg.fields() if f["custom"]}
        assert custom == {"日本", "中国", "straße"}
        assert seg.count([{"field": "日本", "operator": "equals", "value": "東京"}]) == 1
        assert seg.contacts([])[0]["中国"] == "北京"
        # the same key again goes to the same field; its ASCII spelling still finds a field made before
        seg.add_contacts([{"email": "b@x.com", "日本": "大阪"}])
        assert seg.count([{"field": "日本", "operator": "equals", "value": "大阪"}]) == 1


@pytest.mark.parametrize("records, message", [
    ([{"email": "a@x.com", "": 1}], "key '' has no letter or digit"),
    ([{"email": "a@x.com", "!!!": 1}], "key '!!!' has no letter or digit"),
    ([{"email": "a@x.com", "x" * 63: 1, "x" * 64: 2}], "would both become field 'x{63}'"),
    ([{"email": "a@x.com", "Plan Type": 1}, {"email": "b@x.com", "plan-type": 2}],
     "keys 'Plan Type' and 'plan-type' would both become field 'plan_type'"),
    ([{"email": "a@x.com", "é" * 40: 1, "é" * 32: 2}], "would both become field"),
    ([{"email": "a@x.com", "xmin": 1}], "'xmin' is a reserved field name"),
    ([{"email": "a@x.com", "ctid": 1}], "'ctid' is a reserved field name"),
    ([{"email": "a@x.com", "tableoid": 1}], "'tableoid' is a reserved field name"),
    ([{"email": "a@x.com", "rowid": 1}], "'rowid' is a reserved field name"),
    ([{"email": "a@x.com", "Segment": 1}], "'segment' is a reserved field name"),
    ([{"email": "a@x.com", "contacts_count": 1}], "'contacts_count' is a reserved field name"),
])
def test_keys_that_cannot_be_fields_are_errors_naming_them(any_url, records, message):
    with segmenter.connect(any_url) as seg:
        with pytest.raises(ContactError, match=message):
            seg.add_contacts(records)
        assert _sql_count(any_url) == 0 and not [f for f in seg.fields() if f["custom"]]


def test_a_long_key_is_cut_to_63_bytes_of_utf8(any_url):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts([{"email": "a@x.com", "é" * 40: "v"}])
        (name,) = [f["name"] for f in seg.fields() if f["custom"]]
        assert name == "é" * 31 and len(name.encode()) == 62
        assert seg.contacts([])[0][name] == "v"


def test_two_keys_of_one_record_for_one_field_are_an_error(seg):
    seg.add_contacts([{"email": "a@x.com", "plan": "a"}])
    with pytest.raises(ContactError, match="keys 'plan' and 'Plan' both set field 'plan'"):
        seg.add_contacts([{"email": "a@x.com", "plan": "b", "Plan": "c"}])


@pytest.mark.parametrize("header, message", [
    ("xmin", "'xmin' is a reserved field name"), ("ctid", "'ctid' is a reserved field name"),
    ("rowid", "'rowid' is a reserved field name"), ("oid", "'oid' is a reserved field name"),
    ("contacts_count", "'contacts_count' is a reserved field name"), ("sample", "'sample' is a reserved"),
])
def test_csv_columns_with_reserved_names_are_errors(any_url, header, message):
    with segmenter.connect(any_url) as seg:
        with pytest.raises(ContactError, match=message):
            seg.import_csv(f"email,{header}\na@x.com,1\n")
        assert _sql_count(any_url) == 0


def test_csv_columns_that_would_share_a_name_are_errors_not_renamed(seg):
    with pytest.raises(ContactError, match="columns 'Plan Type' and 'plan-type' would both become field 'plan_type'"):
        seg.import_csv("email,Plan Type,plan-type\na@x.com,1,2\n")
    with pytest.raises(ContactError, match="would both become field"):
        seg.import_csv("email," + "y" * 63 + "," + "y" * 64 + "\na@x.com,1,2\n")
    report = seg.import_csv("email,日本,中国\na@x.com,東京,北京\n")
    assert report.new_fields == {"日本": "text", "中国": "text"}


def test_one_naming_for_add_contacts_and_csv(tmp_path):
    keys = ["Phone 1", "customerID", "日本", "1st purchase", "Straße", "é" * 40]
    names = []
    for how in ("records", "csv"):
        with segmenter.connect(f"sqlite:///{tmp_path / how}.db") as seg:
            if how == "records":
                seg.add_contacts([{"email": "a@x.com", **{k: "v" for k in keys}}])
            else:
                seg.import_csv("email," + ",".join(keys) + "\na@x.com" + ",v" * len(keys) + "\n")
            names.append([f["name"] for f in seg.fields() if f["custom"]])
    assert names[0] == names[1] == ["phone_1", "customer_id", "日本", "f_1st_purchase", "straße", "é" * 31]


# ---- 6. NUL in a text rule: a rule error on every back end (SPEC §2: "a value that cannot [evaluate everywhere]
# (a lone surrogate, NUL, a number beyond float range) is a rule error") ----

@pytest.mark.parametrize("operator", ["contains", "not_contains", "starts_with", "ends_with", "equals", "not_equals"])
def test_a_nul_in_a_text_rule_is_a_rule_error_on_every_back_end(any_url, operator):
    with segmenter.connect(any_url, backend="sql") as sql, segmenter.connect(any_url, backend="memory") as mem:
        sql.add_contacts([{"email": f"a{i}@x.com", "name": ["ab", "xa", "a"][i % 3]} for i in range(40)])
        rules = [{"field": "name", "operator": operator, "value": "a\x00b"}]
        for s in (sql, mem):
            with pytest.raises(segmenter.RuleError, match=r"NUL character U\+0000"):
                s.count(rules)


# ---- 7. integers beyond ±2^53 ----

@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1, 10**20])
def test_integers_beyond_2_53_are_refused_with_a_hint(any_url, value):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts([{"email": "a@x.com", "score": 1}])
        with pytest.raises(ContactError, match=r"beyond ±2\^53.*text"):
            seg.add_contacts([{"email": "b@x.com", "score": value}])
        with pytest.raises(ContactError, match=r"beyond ±2\^53.*text"):
            seg.add_contacts([{"email": "b@x.com", "card": value}])  # a new field too
        assert _sql_count(any_url) == 1
        seg.add_contacts([{"email": "b@x.com", "score": 2**53}])  # the edge itself is exact
        assert seg.count([{"field": "score", "operator": "equals", "value": 2**53}]) == 1


def test_csv_integers_beyond_2_53(seg):
    report = seg.import_csv(f"email,card\na@x.com,{2**53 + 1}\nb@x.com,12\n")
    assert report.new_fields == {"card": "text"}  # a column holding such integers is text
    assert seg.contacts([])[0]["card"] == str(2**53 + 1)
    seg.add_contacts([{"email": "a@x.com", "score": 1}])
    report = seg.import_csv(f"email,score\na@x.com,{2**53 + 1}\nb@x.com,12\n")  # an existing number field
    assert [r.line for r in report.rejected] == [2] and "2^53" in report.rejected[0].reason
    assert report.updated == 1


# ---- 9. a bad cell, a CR-only file, a full disk ----

def test_a_datetime_beyond_year_9999_in_utc_rejects_its_row_only(any_url):
    with segmenter.connect(any_url) as seg:
        report = seg.import_csv("email,created_at\na@x.com,2020-01-01\nb@x.com,9999-12-31T23:59:59-01:00\n"
                                "c@x.com,0001-01-01T00:00:00+01:00\nd@x.com,2021-05-05\n")
        assert [r.line for r in report.rejected] == [3, 4]
        assert "outside the years 1–9999" in report.rejected[0].reason
        assert report.inserted == 2
        import datetime as dt
        late = dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-1)))
        with pytest.raises(ContactError, match="created_at"):
            seg.add_contacts([{"email": "e@x.com", "created_at": late}])


def test_a_file_with_cr_line_ends_imports(seg):
    report = seg.import_csv(b"email;plan\ra@x.com;gold\rb@x.com;\"two\rlines\"\rc@x.com;x\r")
    assert report.inserted == 3 and not report.rejected
    assert seg.count([{"field": "plan", "operator": "equals", "value": "two\rlines"}]) == 1


def test_a_full_database_disk_says_so_and_writes_nothing(seg, sqlite_url):
    from sqlalchemy import event
    seg.add_contacts(_people(10))

    @event.listens_for(seg.engine, "connect")
    def small_disk(dbapi_conn, _record):  # the database may not grow: SQLite reports SQLITE_FULL, as on a full disk
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    seg.engine.dispose()
    with pytest.raises(segmenter.SegmenterError, match="disk of the database is full: nothing was written"):
        seg.import_csv("email,bio\n" + "".join(f"n{i}@x.com,{'x' * 500}\n" for i in range(2000)))
    assert _sql_count(sqlite_url) == 10


EXPORT_SCRIPT = """
import resource, signal, sys
import segmenter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the size limit a write fails (EFBIG) like on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
seg = segmenter.connect(sys.argv[1])
try:
    seg.export_csv([], sys.argv[2])
except OSError as e:
    print("ERROR", e)
"""


def test_an_export_that_cannot_be_written_leaves_the_target_as_it_was(seg, sqlite_url, tmp_path):
    import subprocess
    import sys
    seg.add_contacts(_people(3000))
    target = tmp_path / "out.csv"
    target.write_text("the previous export\n")
    run = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, sqlite_url, str(target), "20000"],
                         capture_output=True, text=True, timeout=120)
    assert "nothing was written" in run.stdout, run.stdout + run.stderr
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.glob("*.csv*")) == ["out.csv"]  # no half-written file beside it
    assert seg.export_csv([], target) == 3000
    assert target.read_text().count("\n") == 3001


# ---- the property: plain-SQL writers, API writers and counts, in any order, never a stale answer ----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EMAILS = [f"h{i}@example.com" for i in range(12)]
_email = st.sampled_from(EMAILS)
_status = st.sampled_from(["active", "inactive", None])
SQLITE_ONLY = ("replace", "insert_or_replace", "update_or_replace")
OPS = st.one_of(
    st.tuples(st.just("api_add"), st.lists(st.tuples(_email, _status), min_size=1, max_size=4)),
    st.tuples(st.just("sql_insert"), _email, _status),
    st.tuples(st.just("sql_update"), _email, _status),
    st.tuples(st.just("sql_delete"), _email),
    st.tuples(st.sampled_from(SQLITE_ONLY), _email, _email, _status),
    st.tuples(st.just("empty_log")),
    st.tuples(st.just("count")),
)


def _q(value) -> str:
    return "NULL" if value is None else "'" + value + "'"


def _statement(op: tuple, dialect: str) -> list[str]:
    kind = op[0]
    if kind == "sql_insert":
        _, email, status = op
        if dialect == "sqlite":
            return [f"INSERT OR IGNORE INTO contacts (email, status) VALUES ({_q(email)}, {_q(status)})"]
        return [f"INSERT INTO contacts (email, status) VALUES ({_q(email)}, {_q(status)}) "
                "ON CONFLICT (email) DO UPDATE SET status = EXCLUDED.status"]
    if kind == "sql_update":
        return [f"UPDATE contacts SET status = {_q(op[2])} WHERE email = {_q(op[1])}"]
    if kind == "sql_delete":
        return [f"DELETE FROM contacts WHERE email = {_q(op[1])}"]
    if kind == "empty_log":
        return ["DELETE FROM contact_changes"]
    _, email, other, status = op
    if dialect != "sqlite":  # no REPLACE on PostgreSQL: its upsert fires every trigger
        return [f"INSERT INTO contacts (email, status) VALUES ({_q(email)}, {_q(status)}) "
                "ON CONFLICT (email) DO UPDATE SET status = EXCLUDED.status"]
    if kind == "replace":
        return [f"REPLACE INTO contacts (email, status) VALUES ({_q(email)}, {_q(status)})"]
    if kind == "insert_or_replace":  # may replace two rows at once: the one with that id and the one with that email
        return [f"INSERT OR REPLACE INTO contacts (id, email, status) SELECT id, {_q(other)}, {_q(status)} "
                f"FROM contacts WHERE email = {_q(email)}"]
    return [f"UPDATE OR REPLACE contacts SET email = {_q(other)} WHERE email = {_q(email)}"]


def test_no_stale_answer_whatever_writes_what(any_url):
    dialect = "sqlite" if any_url.startswith("sqlite") else "postgresql"
    with segmenter.connect(any_url, backend="memory") as mem, segmenter.connect(any_url) as api:

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(OPS, min_size=1, max_size=14))
        def run(ops):
            _plain_sql(any_url, "DELETE FROM contacts")
            for op in ops:
                if op[0] == "api_add":
                    api.add_contacts([{"email": e, "status": s} for e, s in op[1]])
                elif op[0] != "count":
                    _plain_sql(any_url, *_statement(op, dialect))
                if op[0] == "count" or op is ops[-1]:
                    assert mem.count([]) == _sql_count(any_url)
                    assert mem.count(ACTIVE) == _sql_count(any_url, "status = 'active'")

        run()
