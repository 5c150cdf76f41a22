"""Hypothesis strategies for hostile input (issue 12), shared by the Python API and HTTP fuzz tests: strings with
lone surrogates, NUL and invisible characters, numbers beyond float range, dates at the ends of time, values and
groups nested past every limit."""
from __future__ import annotations

from hypothesis import strategies as st

from segmenter.operators import OPERATORS

HOSTILE_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from(["\x00", "\u200b", "\ufeff", "%", "_", "/", "'; DROP TABLE contacts; --", "İ", "ß", "x" * 1001]),
)
HOSTILE_NUMBER = st.one_of(
    st.integers(), st.integers(min_value=10**300, max_value=10**400), st.floats(), st.just(-(10**309)),
    st.sampled_from([2**63, 2**64, 1.7976931348623157e308, 5e-324, -0.0]),
)
HOSTILE_DATE = st.one_of(
    st.dates().map(str), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31", "0001-01-01", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00",
                     "10000-01-01", "0000-12-31"]),
)
LEAF = st.one_of(HOSTILE_TEXT, HOSTILE_NUMBER, HOSTILE_DATE, st.none(), st.booleans())
VALUE = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["name", "company", "created_at", "score", "id", "vip"]) | HOSTILE_TEXT
OPERATOR_KEYS = st.sampled_from(list(OPERATORS)) | HOSTILE_TEXT
RULE = st.fixed_dictionaries({"field": FIELDS, "operator": OPERATOR_KEYS, "value": VALUE})
NODE = st.recursive(RULE | LEAF, lambda inner: st.fixed_dictionaries(
    {"match": st.sampled_from(["any", "all"]) | HOSTILE_TEXT, "rules": st.lists(inner, max_size=3)}), max_leaves=8)
