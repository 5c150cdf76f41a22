"""The demo contacts: deterministic, unique, valid and with plausible shares."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from segmenter.demo import demo_frame, demo_records

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 1, tzinfo=UTC)
COLUMNS = ["email", "name", "company", "status", "created_at", "plan", "country", "mrr", "vip"]
EMAIL = re.compile(r"^[a-z0-9._-]+@([a-z0-9-]+\.)+[a-z]{2,}$")


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return demo_frame(50_000, seed=7, now=NOW)


def test_columns_and_types(big):
    assert list(big.columns) == COLUMNS
    assert len(big) == 50_000
    assert isinstance(big["created_at"].dtype, pd.DatetimeTZDtype) and str(big["created_at"].dt.tz) == "UTC"
    assert big["mrr"].dtype == np.float64 and big["vip"].dtype == bool


def test_deterministic_for_the_same_inputs():
    pd.testing.assert_frame_equal(demo_frame(3000, seed=3, now=NOW), demo_frame(3000, seed=3, now=NOW))
    assert not demo_frame(3000, seed=3, now=NOW).equals(demo_frame(3000, seed=4, now=NOW))


def test_emails_unique_lower_case_and_valid(big):
    assert big["email"].is_unique
    assert big["email"].notna().all()
    assert (big["email"] == big["email"].str.lower()).all()
    assert big["email"].map(lambda e: bool(EMAIL.match(e))).all()


def test_chunks_with_start_offsets_never_share_an_email():
    chunks = [demo_frame(5000, seed=100 + k, now=NOW, start=5000 * k)["email"] for k in range(4)]
    assert pd.concat(chunks).is_unique
    assert chunks[0].str.contains(r"\D0@").any() and not chunks[1].str.contains(r"\D0@").any()


def test_names_are_first_last_with_some_non_ascii(big):
    parts = big["name"].str.split(" ")
    assert (parts.str.len() == 2).all()
    assert 150 <= parts.str[0].nunique() <= 250 and 250 <= parts.str[1].nunique() <= 350
    assert (~big["name"].map(str.isascii)).mean() > 0.02
    assert {"Müller", "José", "Zoë", "Łukasz"} <= set(parts.str[0]) | set(parts.str[1])


def test_status_shares(big):
    shares = big["status"].value_counts(normalize=True, dropna=False)
    assert abs(shares["active"] - 0.55) < 0.02
    assert 0.01 < big["status"].isna().mean() < 0.03
    for status in ("inactive", "unsubscribed", "bounced", "pending"):
        assert 0.03 < shares[status] < 0.25


def test_company_pool_suffixes_and_missing(big):
    company = big["company"]
    assert 0.06 < company.isna().mean() < 0.10
    assert 1000 <= company.nunique() <= 5000
    present = company.dropna()
    suffix = present.str.extract(r" (Inc\.|Inc|LLC|GmbH|Ltd)$")[0].fillna("none")
    shares = suffix.value_counts(normalize=True)
    for name in ("Inc", "Inc.", "LLC", "GmbH", "Ltd", "none"):
        assert 0.02 < shares[name] < 0.45, (name, shares.to_dict())


def test_created_at_spread_over_three_years(big):
    created = big["created_at"]
    assert created.max() < pd.Timestamp(NOW)
    assert created.min() >= pd.Timestamp(NOW) - pd.Timedelta(days=3 * 366)
    assert created.dt.year.nunique() >= 3


def test_default_now_is_today_midnight_utc():
    created = demo_frame(2000, seed=1)["created_at"]
    midnight = pd.Timestamp.now(tz="UTC").normalize()
    assert created.max() < midnight and created.min() > midnight - pd.Timedelta(days=3 * 366)


def test_custom_fields(big):
    assert set(big["plan"]) == {"free", "starter", "pro", "enterprise"}
    assert 30 <= big["country"].nunique() <= 50 and big["country"].notna().all()
    free = big["plan"] == "free"
    assert (big.loc[free, "mrr"] == 0).all()
    paid = big.loc[~free, "mrr"]
    assert 0 < paid.isna().mean() < 0.1 and (paid.dropna() > 0).all()
    cents = paid.dropna() * 100
    assert np.allclose(cents, cents.round())
    assert (paid.dropna() % 1 != 0).mean() > 0.3
    assert 0 < big["vip"].mean() < 0.2


def test_records_are_plain_python_values():
    records = demo_records(300, seed=5, now=NOW)
    frame = demo_frame(300, seed=5, now=NOW)
    assert [r["email"] for r in records] == frame["email"].tolist()
    for r in records:
        assert list(r) == COLUMNS
        assert type(r["email"]) is str and (r["company"] is None or type(r["company"]) is str)
        assert type(r["created_at"]) is dt.datetime and r["created_at"].utcoffset() == dt.timedelta(0)
        assert r["mrr"] is None or type(r["mrr"]) is float
        assert type(r["vip"]) is bool
    assert any(r["company"] is None for r in records) and any(r["status"] is None for r in records)
