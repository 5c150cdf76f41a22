"""Bench data: ``segmenter.demo.demo_frame(n)`` written once into a SQLite file (cached under bench/.data/)."""
from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import segmenter  # noqa: E402
from segmenter import store  # noqa: E402
from segmenter.demo import demo_frame  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / ".data"
CUSTOM = {"plan": "text", "country": "text", "mrr": "number", "vip": "boolean"}
NOW = dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc)  # fixed, so every run sees the same data


def frame(n: int) -> pd.DataFrame:
    return demo_frame(n, seed=7, now=NOW)


def _rows(df: pd.DataFrame):
    """The frame as SQLite row tuples (datetimes as the store's naive UTC text, booleans as 0/1)."""
    stamps = df["created_at"].dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    cols = [df["email"], df["name"], df["company"], df["status"], stamps, df["plan"], df["country"], df["mrr"],
            df["vip"].astype(int)]
    lists = [[None if (v is None or v != v) else v for v in c.astype(object)] for c in cols]
    return list(zip(*lists))


def build(n: int, *, fresh: bool = False) -> Path:
    """A SQLite file with ``n`` demo contacts and the demo's custom fields (bulk insert; built once)."""
    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"contacts-{n}.db"
    if path.exists() and not fresh:
        return path
    for p in DATA_DIR.glob(f"contacts-{n}.db*"):
        p.unlink()
    tmp = path.with_suffix(".tmp")
    if tmp.exists():
        tmp.unlink()
    with segmenter.connect(f"sqlite:///{tmp}") as seg:
        with store.writing(seg.engine) as conn:
            store.add_custom_fields(conn, CUSTOM, NOW)
    df = frame(n)
    con = sqlite3.connect(tmp)
    with con:
        con.executemany("INSERT INTO contacts (email, name, company, status, created_at, plan, country, mrr, vip) "
                        "VALUES (?,?,?,?,?,?,?,?,?)", _rows(df))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    tmp.rename(path)
    return path


if __name__ == "__main__":
    for n in map(int, sys.argv[1:] or ["100000"]):
        t = time.perf_counter()
        print(n, build(n, fresh=True), f"{time.perf_counter() - t:.1f}s")
