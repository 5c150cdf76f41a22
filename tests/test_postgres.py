"""The Segmenter API end to end on PostgreSQL: schema by migrations, freshness across connections and after plain
SQL (TRUNCATE included), who created and changed a segment, and the database URL from the environment or secrets."""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import segmenter
from segmenter import store
from segmenter.sql import SqlBackend

HEAD = ScriptDirectory(str(store.MIGRATIONS)).get_current_head()  # the newest revision
ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]
SEED = ACTIVE + [{"field": "company", "operator": "contains", "value": "inc"}]


@pytest.fixture(params=["memory", "sql"])
def pair(request, pg_url):
    """Two independent connections to one PostgreSQL database (as two app processes would have)."""
    with segmenter.connect(pg_url, backend=request.param) as a, segmenter.connect(pg_url, backend=request.param) as b:
        yield a, b


def plain_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_migrations_create_the_schema_and_the_indexes(pg_url):
    with segmenter.connect(pg_url) as s:
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'contacts'")).scalars())
            trgm = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    assert {"ix_contacts_status_lower", "ix_contacts_created_at", "ix_contacts_company_trgm"} <= indexes
    assert trgm is not None
    with segmenter.connect(pg_url) as again:  # a second connect finds the schema current and changes nothing
        assert again.total_contacts() == 0


def test_an_older_database_is_upgraded_on_connect_without_losing_data(pg_url):
    from alembic import command

    from segmenter import store

    engine = store.make_engine(pg_url)
    with store.writing(engine) as conn:  # an install from before revision 0002, with data in it
        command.upgrade(store._alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO contacts (email, status, company) VALUES ('old@x.com', 'active', 'Old Inc')"))
        conn.execute(text("INSERT INTO segments (name, rules, created_by) VALUES ('Kept', :r, 'ana')"),
                     {"r": '[{"field": "status", "operator": "equals", "value": "active"}]'})
    engine.dispose()
    with segmenter.connect(pg_url) as s:
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
        assert s.count(SEED) == 1
        assert [(g["name"], g["contacts_count"], g["created_by"]) for g in s.list_segments()] == [("Kept", 1, "ana")]


def test_indexes_match_the_queries_the_back_end_writes(pg_url):
    """The planner can only use an expression index for the very expression the back end generates."""
    with segmenter.connect(pg_url, backend="sql") as s:
        s.add_contacts([{"email": f"{i}@x.com", "company": f"Firma {i} GmbH", "status": "active"} for i in range(2000)])
        s.add_contacts([{"email": "m@x.com", "company": "MÜLLER Inc"}])
        rules = s.validate([{"field": "company", "operator": "contains", "value": "müller"}])
        with s.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE contacts")
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny table: ask whether the index *can* be used
            _cat, table, where = s.backend.where(conn, rules, None)
            from sqlalchemy import func, select
            stmt = select(func.count()).select_from(table).where(where)
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + str(
                stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})).replace("%%", "%"))))
            assert conn.execute(stmt).scalar_one() == 1
    assert "ix_contacts_company_trgm" in plan


def test_changes_by_another_connection_show_at_once(pair):
    a, b = pair
    a.add_contacts([{"email": "x@acme.com", "status": "active", "company": "Acme Inc"}])
    assert b.count(SEED) == 1
    b.add_contacts([{"email": "y@acme.com", "status": "Active", "company": "ACME INC"},
                    {"email": "x@acme.com", "status": "inactive"}])
    assert a.count(SEED) == 1 and a.count(ACTIVE) == 1
    made = a.create_segment("Active Inc", SEED)
    assert [s["id"] for s in b.list_segments()] == [made["id"]]
    assert b.get_segment(made["id"])["contacts_count"] == 1
    b.update_segment(made["id"], rules=ACTIVE)
    assert a.get_segment(made["id"])["rules"] == ACTIVE
    b.delete_segment(made["id"])
    with pytest.raises(segmenter.SegmentNotFound):
        a.get_segment(made["id"])


def test_plain_sql_insert_update_delete_and_truncate_show_at_once(pair, pg_url):
    a, b = pair
    a.add_contacts([{"email": f"{i}@x.com", "status": "active", "company": "Acme Inc"} for i in range(5)])
    assert b.count(SEED) == 5
    plain_sql(pg_url, "UPDATE contacts SET status = 'gone' WHERE email = '0@x.com'",
              "DELETE FROM contacts WHERE email = '1@x.com'",
              "INSERT INTO contacts (email, status, company) VALUES ('new@x.com', 'ACTIVE', 'x inc')")
    assert a.count(SEED) == b.count(SEED) == 4
    assert {c["email"] for c in b.contacts(SEED)} == {"2@x.com", "3@x.com", "4@x.com", "new@x.com"}
    plain_sql(pg_url, "TRUNCATE contacts")
    assert a.count([]) == b.count([]) == 0 and a.total_contacts() == 0
    plain_sql(pg_url, "INSERT INTO contacts (email, status, company) VALUES ('back@x.com', 'active', 'Inc')")
    assert a.count(SEED) == b.count(SEED) == 1


def test_a_new_custom_field_from_another_connection_is_filterable_at_once(pair):
    a, b = pair
    a.add_contacts([{"email": "x@y.com"}])
    assert b.count([]) == 1
    a.add_contacts([{"email": "x@y.com", "plan": "Pro", "mrr": 99.5, "vip": True}])
    assert b.count([{"field": "plan", "operator": "equals", "value": "pro"},
                    {"field": "mrr", "operator": "greater_than", "value": 99},
                    {"field": "vip", "operator": "is_true"}]) == 1
    assert {"plan", "mrr", "vip"} <= {f["name"] for f in b.fields() if f["custom"]}


def test_who_created_and_who_changed_a_segment(pg_url, monkeypatch):
    with segmenter.connect(pg_url, user="ana@team.example") as ana, segmenter.connect(pg_url) as shared:
        made = ana.create_segment("Mine", ACTIVE)
        assert made["created_by"] == made["updated_by"] == "ana@team.example"
        # The app shares one connection between signed-in users and names the acting user per call.
        changed = shared.update_segment(made["id"], name="Ours", user="bo@team.example")
        assert changed["created_by"] == "ana@team.example" and changed["updated_by"] == "bo@team.example"
        assert changed["updated_at"] >= changed["created_at"]
    monkeypatch.setenv("SEGMENTER_USER", "deploy-bot")
    with segmenter.connect(pg_url) as bot:
        again = bot.update_segment(made["id"], rules=SEED)
        assert again["updated_by"] == "deploy-bot" and again["created_by"] == "ana@team.example"
        assert bot.create_segment("Bot's", ACTIVE)["created_by"] == "deploy-bot"


def test_database_url_from_environment_and_from_streamlit_secrets(pg_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", pg_url)
    segmenter.connect().add_contacts([{"email": "env@x.com"}])
    monkeypatch.delenv("SEGMENTER_DATABASE_URL")
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'[segmenter]\ndatabase_url = "{pg_url}"\n')
    with segmenter.connect() as s:
        assert s.engine.dialect.name == "postgresql"
        assert [c["email"] for c in s.contacts([])] == ["env@x.com"]
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[segmenter\n")
    with pytest.raises(segmenter.SegmenterError, match="secrets.toml"):
        segmenter.connect()


def test_sql_back_end_on_postgres_pages_and_exports(pg_url, tmp_path):
    with segmenter.connect(pg_url, backend="sql") as s:
        assert isinstance(s.backend, SqlBackend)
        s.load_demo(3_000)
        with segmenter.connect(pg_url, backend="memory") as m:
            assert s.count(SEED) == m.count(SEED) > 0
            assert s.contacts(SEED, limit=20, offset=10) == m.contacts(SEED, limit=20, offset=10)
            assert s.funnel(SEED) == m.funnel(SEED)
            n = s.export_csv(SEED, tmp_path / "s.csv")
            assert n == m.export_csv(SEED, tmp_path / "m.csv") == s.count(SEED)
            assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "m.csv").read_bytes()


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(segmenter.SegmenterError, match="cannot open database"):
        segmenter.connect("postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing")


def test_the_snapshot_reads_postgresql_as_arrow_and_stays_fresh(pg_url):
    """A full load goes through ADBC (COPY BINARY into Arrow), gives exactly what the SQL back end sees — empty
    text, Unicode, NULL numbers/booleans/datetimes included — and the change log keeps it fresh afterwards."""
    with segmenter.connect(pg_url, backend="sql") as s:
        s.load_demo(2_000)
        s.add_contacts([{"email": "odd@x.com", "name": "", "company": "İstanbul Ünı", "status": None, "mrr": None,
                         "vip": None, "created_at": None},
                        {"email": "big@x.com", "mrr": 1e300, "vip": False, "created_at": "1900-01-01T00:00:00Z"}])
        with segmenter.connect(pg_url, backend="memory") as m:
            assert m.count(SEED) == s.count(SEED) > 0
            assert m.snapshot.last_load["reader"] == "adbc" and m.snapshot.last_load["rows"] == 2_002
            assert m.match([]).equals(s.match([]))
            plain_sql(pg_url, "UPDATE contacts SET status = 'active', company = 'New Inc' WHERE email = 'odd@x.com'",
                      "INSERT INTO contacts (email, status, company) VALUES ('plain@x.com', 'active', 'Inc')")
            assert m.count(SEED) == s.count(SEED)
            assert m.snapshot.last_load["rows"] == 2_002  # applied from the change log, not reloaded
            plain_sql(pg_url, "TRUNCATE contacts")
            assert m.count([]) == 0 == s.count([])


def test_bulk_upsert_through_copy_writes_what_row_batches_write(pg_url, monkeypatch):
    """Past ``store.COPY_FROM`` records PostgreSQL upserts through COPY + one UPDATE + one INSERT: the same ids, the
    same rows (an absent key left alone, repeated emails applied in order), and no sequence value spent on an
    update."""
    from segmenter import store
    first = [{"email": f"{i}@x.com", "name": f"N{i}", "status": "active" if i % 2 else None} for i in range(40)]
    first += [{"email": "5@x.com", "company": "Five Inc"}, {"email": "new@x.com", "plan": "pro"},
              {"email": "new@x.com", "mrr": 3, "vip": True}]
    second = [{"email": f"{i}@x.com", "company": "Upd", "status": None} for i in range(0, 40, 3)]
    second += [{"email": f"n{i}@x.com", "created_at": "2020-01-02T03:04:05Z"} for i in range(10)]
    results = []
    for copy_from in (10**9, 10):  # row batches, then COPY
        monkeypatch.setattr(store, "COPY_FROM", copy_from)
        with segmenter.connect(pg_url, backend="sql") as s:
            with s.engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE contacts RESTART IDENTITY")
            ids = (s.add_contacts(first), s.add_contacts(second))
            with s.engine.connect() as conn:
                spent = conn.exec_driver_sql("SELECT last_value FROM contacts_id_seq").scalar_one()
            results.append((ids, s.match([]).drop(columns=["created_at"]), spent,
                            s.match([])["created_at"].iloc[-10:].tolist()))
    (rows_ids, rows_frame, rows_spent, rows_dates), (copy_ids, copy_frame, copy_spent, copy_dates) = results
    assert copy_ids == rows_ids and copy_ids[0][40] == copy_ids[0][5] and copy_ids[0][41] == copy_ids[0][42]
    assert copy_frame.equals(rows_frame)
    assert copy_spent == rows_spent == 51  # 41 new contacts, then 10: an update spends nothing
    assert copy_dates == rows_dates
    five = copy_frame.set_index("email").loc["5@x.com"]
    assert (five["name"], five["company"], five["status"]) == ("N5", "Five Inc", "active")


def test_the_change_log_is_written_once_per_statement_with_every_changed_id(pg_url):
    """Revision 0006: statement triggers with transition tables log what the row triggers logged — every inserted,
    updated and deleted id, and the old id of a row whose id changed — under the same lock; downgrading to 0005
    brings the row trigger back and upgrading again keeps the data."""
    from alembic import command

    def logged_after(conn, seq: int) -> list:
        return sorted(r[0] for r in conn.exec_driver_sql(
            f"SELECT contact_id FROM contact_changes WHERE seq > {seq}"))

    with segmenter.connect(pg_url, backend="memory") as s:
        s.add_contacts([{"email": f"{i}@x.com", "status": "active", "company": "Acme Inc"} for i in range(6)])
        assert s.count(SEED) == 6
        loaded = s.snapshot.last_load
        engine = store.make_engine(pg_url)
        with engine.begin() as conn:
            kinds = dict(conn.exec_driver_sql(
                "SELECT tgname, tgtype & 1 FROM pg_trigger WHERE tgrelid = 'contacts'::regclass AND NOT tgisinternal"
            ).fetchall())
            assert kinds == {"contacts_inserted": 0, "contacts_updated": 0, "contacts_deleted": 0,
                             "contacts_truncated": 0}  # bit 1 of tgtype: FOR EACH ROW
            top = conn.exec_driver_sql("SELECT max(seq) FROM contact_changes").scalar_one()
            conn.exec_driver_sql("INSERT INTO contacts (email, status, company) "
                                 "SELECT 'n' || g || '@x.com', 'active', 'Inc' FROM generate_series(1, 3) AS g")
            conn.exec_driver_sql("UPDATE contacts SET status = 'gone' WHERE email IN ('0@x.com', '1@x.com')")
            conn.exec_driver_sql("UPDATE contacts SET id = 1000 WHERE email = '2@x.com'")
            conn.exec_driver_sql("DELETE FROM contacts WHERE email = '3@x.com'")
            conn.exec_driver_sql("UPDATE contacts SET status = 'none' WHERE false")
            assert logged_after(conn, top) == [1, 2, 3, 4, 7, 8, 9, 1000]
        assert s.count(SEED) == 6  # 2@ (now id 1000), 4@, 5@ and the three new ones
        assert s.snapshot.last_load is loaded  # kept fresh from the log, not reloaded
        with store.writing(engine) as conn:
            command.downgrade(store._alembic_config(conn), "0005")
        with engine.begin() as conn:
            top = conn.exec_driver_sql("SELECT max(seq) FROM contact_changes").scalar_one()
            conn.exec_driver_sql("UPDATE contacts SET status = 'active' WHERE email = '0@x.com'")
            assert logged_after(conn, top) == [1]
        with store.writing(engine) as conn:
            command.upgrade(store._alembic_config(conn), "head")
        engine.dispose()
        assert s.count(SEED) == 7


def test_a_bulk_upsert_rewrites_only_rows_that_change(pg_url, monkeypatch):
    """Through COPY, a record whose values are all stored already writes nothing (no new row version, no change-log
    entry); one changed value is written and logged, and the snapshot sees it."""
    monkeypatch.setattr(store, "COPY_FROM", 10)
    people = [{"email": f"{i}@x.com", "status": "active", "company": "Acme Inc", "mrr": i * 1.5} for i in range(30)]
    with segmenter.connect(pg_url, backend="memory") as s:
        s.add_contacts(people)
        assert s.count(SEED) == 30
        with s.engine.connect() as conn:
            top = conn.exec_driver_sql("SELECT max(seq) FROM contact_changes").scalar_one()
            xmins = dict(conn.exec_driver_sql("SELECT id, xmin::text FROM contacts").fetchall())
        ids = s.add_contacts(people)  # all known, all the same
        people[7] = {**people[7], "status": "gone", "mrr": None}
        s.add_contacts(people)  # one row changes (a value cleared included)
        with s.engine.connect() as conn:
            logged = [r[0] for r in conn.exec_driver_sql(f"SELECT contact_id FROM contact_changes WHERE seq > {top}")]
            after = dict(conn.exec_driver_sql("SELECT id, xmin::text FROM contacts").fetchall())
        assert logged == [ids[7]]
        assert [i for i in after if after[i] != xmins[i]] == [ids[7]]
        assert s.count(SEED) == 29
        assert s.contacts([{"field": "email", "operator": "equals", "value": "7@x.com"}])[0]["mrr"] is None
