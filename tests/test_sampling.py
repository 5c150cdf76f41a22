"""SPEC §9, random samples and splits: the `sample` pseudo-field's exact hash formula, the same answer on every back end
(memory, SQL over SQLite through a registered function, SQL over PostgreSQL through its own sha256) including at the
range boundaries, and `split` into parts whose counts add up to the segment's."""
from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import pytest

import segmenter
from segmenter import RuleError
from segmenter.sampling import sample_key, sample_number, threshold

SALT = "spring-2026 ✓"
EMAILS = [f"user{i}@example.com" for i in range(300)] + ["zoë@müller.de", "日本@例え.jp", "o'brien@x.com"]


def spec_n(salt: str, email: str) -> int:
    """SPEC §9 word for word."""
    return int.from_bytes(hashlib.sha256((salt + ":" + email).encode("utf-8")).digest()[:8], "big")


def spec_in(salt: str, email: str, a, b) -> bool:
    n = spec_n(salt, email)
    return Fraction(a) * 2**64 <= 100 * n < Fraction(b) * 2**64


def _sample(a, b, salt: str = SALT) -> dict:
    return {"field": "sample", "operator": "in_range", "value": {"salt": salt, "from": a, "to": b}}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data_url(request, tmp_path_factory):
    from helpers import fresh_pg_database

    def fill(url):
        with segmenter.connect(url) as s:
            s.add_contacts([{"email": e} for e in EMAILS])

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sample') / 's.db'}"
        fill(url)
        yield url
    else:
        with fresh_pg_database("seg_sample") as url:
            fill(url)
            yield url


@pytest.fixture(scope="module", params=["memory", "sql"])
def data(request, data_url):
    with segmenter.connect(data_url, backend=request.param) as s:
        yield s


def test_the_numbers_are_the_spec_formula():
    for e in EMAILS:
        assert sample_number(SALT, e) == spec_n(SALT, e)
        assert sample_key(SALT, e) == f"{spec_n(SALT, e):016x}"
    assert threshold(0) == 0 and threshold(100) == 2**64
    assert threshold(50) == 2**63 and threshold(25) == 2**62
    assert threshold(1) == -(-(2**64) // 100)  # integer ceiling
    assert threshold(0.1) == math.ceil(Fraction(0.1) * 2**64 / 100)  # the float's exact value, no rounding


@pytest.mark.parametrize("a,b", [(0, 100), (0, 50), (50, 100), (0, 1), (33.3, 66.6), (12.5, 12.75), (99, 100),
                                 (0.5, 99.5)])
def test_every_back_end_gives_the_spec_answer(data, a, b):
    expected = sorted(e for e in EMAILS if spec_in(SALT, e, a, b))
    got = sorted(c["email"] for c in data.contacts([_sample(a, b)]))
    assert got == expected


def test_ranges_at_a_contacts_own_point(data):
    """The bounds sit exactly next to contacts' points: a float A just at or just past 100·n/2⁶⁴ flips the contact
    in or out, the same way on every back end as in SPEC's integer formula."""
    for email in EMAILS[:6] + EMAILS[-3:]:
        p = 100 * spec_n(SALT, email) / 2**64  # the nearest float to the point
        for a in (math.nextafter(p, 0), p, math.nextafter(p, 100)):
            for rng in ((a, 100), (0, a)):
                if not 0 <= rng[0] < rng[1] <= 100:
                    continue
                inside = spec_in(SALT, email, *rng)
                got = data.count([{"field": "email", "operator": "equals", "value": email}, _sample(*rng)])
                assert got == int(inside), (email, rng)


def test_parts_of_a_split_add_up_and_follow_the_spec(data):
    segment = data.create_segment("Example", [{"field": "email", "operator": "contains", "value": "example"}])
    parts = data.split(segment["id"], {"A": 45, "B": 45, "holdout": 10}, salt="ab-1")
    assert [p["part"] for p in parts] == ["A", "B", "holdout"]
    assert parts[0]["rules"] == [{"field": "segment", "operator": "in_segment", "value": segment["id"]},
                                 _sample(0, 45, "ab-1")]
    assert parts[2]["rules"][-1] == _sample(90, 100, "ab-1")
    assert sum(p["contacts_count"] for p in parts) == segment["contacts_count"] == 300
    for p, (a, b) in zip(parts, [(0, 45), (45, 90), (90, 100)]):
        assert p["contacts_count"] == sum(spec_in("ab-1", e, a, b) for e in EMAILS if "example" in e)
        assert data.count(p["rules"]) == p["contacts_count"]  # ready to save or export as they are
    by_rules = data.split([{"field": "email", "operator": "contains", "value": "example"}], {"x": 50, "y": 50},
                          salt="ab-1")
    assert by_rules[0]["rules"][0] == {"field": "email", "operator": "contains", "value": "example"}
    assert sum(p["contacts_count"] for p in by_rules) == 300
    data.delete_segment(segment["id"])


def test_the_same_salt_splits_the_same_way_and_a_new_one_differently(data):
    one = [c["id"] for c in data.contacts([_sample(0, 50, "s1")])]
    assert one == [c["id"] for c in data.contacts([_sample(0, 50, "s1")])]
    assert one != [c["id"] for c in data.contacts([_sample(0, 50, "s2")])]


@pytest.mark.parametrize("value,message", [
    ({"salt": "", "from": 0, "to": 10}, "needs a salt that is a non-empty string, got ''"),
    ({"salt": "x" * 201, "from": 0, "to": 10}, "salt is 201 characters; at most 200 are allowed"),
    ({"salt": "a\x00b", "from": 0, "to": 10}, "salt contains a NUL character"),
    ({"salt": "\ud800", "from": 0, "to": 10}, "lone surrogate"),
    ({"salt": "s", "from": 10, "to": 10}, "needs 'from' < 'to', got from 10 and to 10"),
    ({"salt": "s", "from": -1, "to": 10}, "needs 'from' from 0 to 100, got -1"),
    ({"salt": "s", "from": 0, "to": 100.5}, "needs 'to' from 0 to 100, got 100.5"),
    ({"salt": "s", "from": True, "to": 10}, "needs 'from' to be a number from 0 to 100, got True"),
    ({"salt": "s", "from": 0}, "the value is missing 'to'"),
    ({"salt": "s", "from": 0, "to": 5, "pepper": 1}, "unknown key 'pepper'"),
    ("0-10", 'needs {"salt": S, "from": A, "to": B}'),
])
def test_bad_sample_values_are_rule_errors(data, value, message):
    with pytest.raises(RuleError) as err:
        data.count([{"field": "sample", "operator": "in_range", "value": value}])
    assert err.value.problems[0].startswith("rule 1: operator 'in_range' on sample field 'sample' ")
    assert message in err.value.problems[0]


@pytest.mark.parametrize("parts,message", [
    ({"A": 50, "B": 40}, "the parts' percents must add up to 100, got 90"),
    ({"A": 0, "B": 100}, "part 1 ('A'): the percent must be a whole number >= 1, got 0"),
    ({"A": 50.5, "B": 49.5}, "the percent must be a whole number >= 1, got 50.5"),
    ({"": 100}, "part 1: the name must be a non-empty string"),
    ({}, "parts must name at least one part"),
    ([{"name": "A", "percent": 50}, {"name": "A", "percent": 50}], "part 2: the name 'A' is given twice"),
    ("A:50,B:50", "parts must be a mapping of part name → whole percent"),
])
def test_bad_parts_are_rule_errors(data, parts, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        data.split([], parts, salt="s")


def test_a_split_needs_a_salt(data):
    with pytest.raises(RuleError, match="split needs a salt that is a non-empty string"):
        data.split([], {"A": 100}, salt="")
    with pytest.raises(TypeError):
        data.split([], {"A": 100})  # keyword-only and required: no silent default salt
