"""CSV export: matching contacts as CSV text, one batch at a time, under one header — the same text whether it
goes to a file (``write_csv``) or down an HTTP response (``csv_batches``)."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import math
import numbers
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import numpy as np
import pandas as pd

from .values import format_datetime, to_utc

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _guard(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _format_float(f: float) -> str:
    if math.isnan(f):
        return ""
    if f.is_integer() and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


def format_cell(value: object) -> str:
    """One value as CSV text: numbers as numbers, ``2026-01-05T10:00:00Z``, true/false, '' when missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _format_float(float(value))
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else format_datetime(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, dt.datetime):
        return format_datetime(to_utc(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, numbers.Number):
        return str(value)
    return _guard(str(value))


def _format_column(s: pd.Series) -> Iterable[str]:
    if s.dtype == bool:
        return np.where(s.to_numpy(), "true", "false").tolist()
    if pd.api.types.is_integer_dtype(s.dtype) and not s.hasnans:
        return s.astype("int64").astype(str).tolist()
    if pd.api.types.is_float_dtype(s.dtype):
        return [_format_float(f) for f in s.astype("float64").tolist()]
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        u = s.dt.tz_convert("UTC") if s.dt.tz is not None else s
        if not ((u.dt.microsecond != 0) | (u.dt.nanosecond != 0)).any():
            return u.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("").tolist()
    if isinstance(s.dtype, pd.StringDtype):
        text = s.fillna("")
        return text.where(~text.str.startswith(FORMULA_TRIGGERS), "'" + text).tolist()
    return [format_cell(v) for v in s.tolist()]


@contextlib.contextmanager
def _beside(target: Path) -> Iterator[IO[str]]:
    """A file written beside ``target`` and renamed over it once complete: a full disk or a failure half-way leaves
    the target as it was (absent, or the previous export), never a truncated file. A target that is not a regular
    file (``/dev/stdout``, a pipe) is written directly."""
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline="") as f:
            yield f
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        reason = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise OSError(e.errno, f"{reason}; nothing was written", os.fspath(target)) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _text_sink(dest: Any) -> Iterator[IO[str]]:
    if isinstance(dest, (str, os.PathLike)):
        with _beside(Path(dest)) as f:
            yield f
    elif isinstance(dest, (io.RawIOBase, io.BufferedIOBase)):
        wrapper = io.TextIOWrapper(cast(BinaryIO, dest), encoding="utf-8", newline="", write_through=True)
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()  # the caller owns (and closes) the binary stream
    else:
        yield dest


class _Lines:
    """A text sink that hands back what was written since the last call (the csv module writes, we stream)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


BOM = "\ufeff"  # the byte order mark, UTF-8 encoded EF BB BF: Excel reads the file as UTF-8 only with it


def _row_counts(columns: list[str], batches: Iterable[pd.DataFrame], counted: list[int],
                bom: bool = False) -> Iterator[str]:
    out = _Lines()
    if bom:
        out.write(BOM)
    # RFC 4180 line ends; with "\n" alone the writer would leave a cell holding a bare "\r" unquoted
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(columns)
    yield out.take()
    for batch in batches:
        cells = [_format_column(batch[c]) if c in batch.columns else [""] * len(batch) for c in columns]
        writer.writerows(zip(*cells))
        counted[0] += len(batch)
        del batch, cells  # a batch is written then dropped: an export never holds the result twice
        yield out.take()


def csv_batches(columns: list[str], batches: Iterable[pd.DataFrame], *, bom: bool = False) -> Iterator[str]:
    """CSV text: the header once, then one piece per batch of rows (formatted and formula-guarded). ``bom``: the
    text starts with U+FEFF (UTF-8 with BOM, which Excel needs to read UTF-8)."""
    return _row_counts(columns, batches, [0], bom)


def write_csv(dest: Any, columns: list[str], batches: Iterable[pd.DataFrame], *, bom: bool = False) -> int:
    """Stream ``batches`` to ``dest`` (path or text/binary file) as UTF-8 CSV under one header, with a byte order
    mark first when ``bom``; returns rows written."""
    counted = [0]
    with _text_sink(dest) as out:
        for text in _row_counts(columns, batches, counted, bom):
            out.write(text)
    return counted[0]
