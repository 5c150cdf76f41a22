"""Records from pandas (SPEC §4): a DataFrame's rows as plain-Python records, and "not given" for NaN, NaT and pd.NA.
Kept apart from the record checks so the notebook path reads in one place."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from .errors import ContactError


def is_missing(value: Any) -> bool:
    """NaN, NaT or pd.NA (pandas' and numpy's ways of saying "no value"); None is not: in a dict it clears."""
    if value is None or isinstance(value, (str, bytes, bool, int)):
        return False
    if value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (np.floating, np.datetime64, np.timedelta64)):
        return bool(np.isnat(value)) if not isinstance(value, np.floating) else bool(np.isnan(value))
    return False


def plain(value: Any) -> Any:
    """numpy and pandas scalars as the Python values the record checks know (int, float, bool, datetime)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


_PLAIN_TYPES = frozenset({str, int, bool, type(None), dt.datetime, dt.date})


def without_missing(record: Any) -> Any:
    """A dict record without its NaN/NaT/pd.NA values (not given), numpy scalars made Python; others untouched
    (a record of plain Python values, the common case, is returned as it is)."""
    if not isinstance(record, dict):
        return record
    for v in record.values():
        kind = type(v)
        if kind not in _PLAIN_TYPES and not (kind is float and v == v):
            return {k: plain(v) for k, v in record.items() if not is_missing(v)}
    return record


def _column(series: pd.Series) -> list:
    """A column as Python values, None where missing (NaN, NaT, pd.NA, None)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        return [None if v is pd.NaT else v for v in series.dt.to_pydatetime()]
    values = series.astype(object)
    return [plain(v) for v in values.where(series.notna(), None).tolist()]


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """One record per row, column by column (fast for a million rows); a missing cell, None included, is left out."""
    if frame.columns.has_duplicates:
        repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ContactError(f"the DataFrame has repeated column names: {', '.join(repeated)}")
    columns = {name: _column(frame[name]) for name in frame.columns}
    return [{k: v for k, v in zip(columns, row) if v is not None} for row in zip(*columns.values())] if columns \
        else [{} for _ in range(len(frame))]


