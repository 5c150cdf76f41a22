"""The SQLite column reader (aggregates split in Arrow, datetimes parsed by Arrow when every value has SQLAlchemy's
shape, two connections for a large table) gives exactly what the plain row reader gives, for ordinary and odd
values alike, and never mixes two states of the table."""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pyarrow as pa
import pytest

import segmenter
from segmenter import columnar_io, store

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc)
ODD_TEXT = ["plain", "", None, "Ünïcode İ ß", "tab\tand\nnewline", "emoji 🎉", "x" * 5000]
ODD_NUMBERS = [0, 1, -2.5, 0.1, 1e308, 5e-324, None, 2**53 + 1, "abc", 1 / 3]
ODD_DATES = ["2026-11-26 08:22:11.000000", "2026-11-26 08:22:11", "2026-11-26T08:22:11Z", "2026-11-26",
             "2026-11-26 08:22:11+02:00", "2026-02-30 00:00:00", "garbage", None, "", "0001-01-01 00:00:00",
             "2026-11-26 08:22:11.123456"]
ODD_BOOLS = [1, 0, None, 1, 0, 1, None, 0, 1, 0, 1]


def _fill(url: str, rows: int, *, odd: bool) -> None:
    with segmenter.connect(url) as seg, store.writing(seg.engine) as conn:
        store.add_custom_fields(conn, {"score": "number", "vip": "boolean", "seen": "datetime"}, NOW)
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    with con:
        for i in range(rows):
            k = i % 11
            date = ODD_DATES[k] if odd else f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:00.{i:06d}"[:26]
            con.execute("INSERT INTO contacts (email, name, company, status, created_at, score, vip, seen) "
                        "VALUES (?,?,?,?,?,?,?,?)",
                        (f"p{i}@x.io", ODD_TEXT[i % 7] if odd else f"n{i % 5}", "Acme" if i % 3 else None,
                         "active", date, ODD_NUMBERS[i % 10] if odd else i * 0.5, ODD_BOOLS[k], date))
    con.close()


def _same(a: tuple, b: tuple) -> None:
    ids_a, cols_a = a
    ids_b, cols_b = b
    assert np.array_equal(ids_a, ids_b)
    assert cols_a.keys() == cols_b.keys()
    for name in cols_a:
        x, y = cols_a[name], cols_b[name]
        if isinstance(x, pa.Array):
            assert x.to_pylist() == y.to_pylist(), name
        else:
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def _readers(url: str, monkeypatch) -> list[tuple]:
    engine = store.make_engine(url)
    out = []
    with engine.connect() as conn:
        catalogue = store.load_catalogue(conn)
        fields = [f for f in catalogue if f.name != "id"]
        out.append(columnar_io._read_rows(conn, fields, None))
        monkeypatch.setattr(columnar_io, "PARALLEL_FROM", 10**12)
        out.append(columnar_io.read(conn, catalogue))
        monkeypatch.setattr(columnar_io, "PARALLEL_FROM", 0)
        info: dict = {}
        out.append(columnar_io.read(conn, catalogue, info=info))
        out.append(info)
    engine.dispose()
    return out


@pytest.mark.parametrize("odd", [False, True])
def test_the_column_reader_reads_what_the_row_reader_reads(sqlite_url, monkeypatch, odd):
    _fill(sqlite_url, 77, odd=odd)
    rows, single, parallel, info = _readers(sqlite_url, monkeypatch)
    _same(single, rows)
    _same(parallel, rows)
    assert info["reader"] == "sqlite-columns"


def test_a_value_holding_the_separator_falls_back_to_rows(sqlite_url, monkeypatch):
    _fill(sqlite_url, 20, odd=False)
    con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with con:
        con.execute("UPDATE contacts SET name = 'a\x1fb' WHERE id = 3")
    con.close()
    rows, single, parallel, info = _readers(sqlite_url, monkeypatch)
    _same(single, rows)
    _same(parallel, rows)
    assert info["reader"] == "rows"
    assert rows[1]["name"].to_pylist()[2] == "a\x1fb"


def test_datetimes_parsed_by_arrow_equal_pandas():
    values = pa.array(["2026-11-26 08:22:11.000000", "1999-12-31 23:59:59.999999", None, "2262-04-10 00:00:00",
                       "1677-09-22 00:00:01", "2024-02-29 12:00:00"], type=columnar_io.STRING)
    fast = columnar_io._arrow_datetimes(values)
    assert fast is not None
    assert np.array_equal(fast, columnar_io.datetimes(values.to_pylist()))
    for odd in ["2024-02-30 00:00:00", "2026-11-26T08:22:11", "3000-01-01 00:00:00", "2026-11-26 08:22:11.1"]:
        assert columnar_io._arrow_datetimes(pa.array([odd], type=columnar_io.STRING)) is None, odd


def test_a_write_between_the_two_connections_reads_one_state(sqlite_url, monkeypatch):
    """The second connection's statement sees a write the first one's transaction does not: the reader notices
    (row count and change log differ) and reads again on the first connection, which gives its own state."""
    _fill(sqlite_url, 30, odd=False)
    monkeypatch.setattr(columnar_io, "PARALLEL_FROM", 0)
    real = columnar_io._aggregated
    main: list = []

    def meddling(conn, columns, where=""):
        if main and conn is not main[0]:
            con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
            with con:
                con.execute("INSERT INTO contacts (email) VALUES ('late@x.io')")
            con.close()
            main.clear()
        return real(conn, columns, where)

    monkeypatch.setattr(columnar_io, "_aggregated", meddling)
    engine = store.make_engine(sqlite_url)
    with engine.connect() as conn:
        catalogue = store.load_catalogue(conn)  # starts this connection's read transaction
        main.append(conn)
        ids, columns = columnar_io.read(conn, catalogue)
    engine.dispose()
    assert len(ids) == 30 and all(len(v) == 30 for v in columns.values())
    assert "late@x.io" not in columns["email"].to_pylist()
