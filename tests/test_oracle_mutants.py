"""The parity property can fail: each broken operator below (one per operator family) is put into the back ends'
compilation, and the very property body of tests/test_parity_sql.py (``check_back_ends``: every back end vs the
independent oracle on random contacts and rules) must find a contact where they disagree. Were the oracle built on
the same compilation as the back ends, or the generators to miss the boundaries, these tests would fail."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import Phase, given, settings

from segmenter import evaluate
from segmenter.operators import DATETIME, NUMBER, OPERATORS, TEXT, RangePred, TextPred
from segmenter.snapshot import TextColumn
from test_parity_sql import PROPERTY, Database, cases, check_back_ends

# ---- the mutants: each a plausible one-line slip ----------------------------------------------------------------


def greater_or_equal_as_greater(monkeypatch):
    """number `greater_than_or_equal` compiled as `>`: the bound itself is lost."""
    form = OPERATORS["greater_than_or_equal"].forms[NUMBER]
    monkeypatch.setitem(OPERATORS["greater_than_or_equal"].forms, NUMBER,
                        dataclasses.replace(form, build=lambda v, now: RangePred(lo=v, lo_inclusive=False)))


def not_contains_without_negation(monkeypatch):
    """`not_contains` with its negation dropped: it behaves as `contains`."""
    monkeypatch.setitem(OPERATORS, "not_contains", dataclasses.replace(OPERATORS["not_contains"], negate=False))


def rule_value_not_lower_cased(monkeypatch):
    """Text rules compare with the value as typed: `MÜLLER` no longer equals a stored `müller`."""
    for key in ("equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in"):
        form = OPERATORS[key].forms[TEXT]
        kind = {"not_equals": "equals", "not_contains": "contains", "not_in": "in"}.get(key, key)
        build = ((lambda v, now: TextPred("in", tuple(v))) if kind == "in"
                 else (lambda v, now, kind=kind: TextPred(kind, (v,))))
        monkeypatch.setitem(OPERATORS[key].forms, TEXT, dataclasses.replace(form, build=build))


def field_not_lower_cased(monkeypatch):
    """The in-memory back end compares the stored text as stored, not lower-cased."""
    monkeypatch.setattr(TextColumn, "lowered", TextColumn.dictionary)


def after_without_whole_day(monkeypatch):
    """`after` a date D compiled as after D 00:00, not after the whole day."""
    import datetime as dt

    def build(v, now):
        if isinstance(v, dt.datetime):
            return RangePred(lo=v, lo_inclusive=False)
        return RangePred(lo=dt.datetime(v.year, v.month, v.day, tzinfo=dt.timezone.utc), lo_inclusive=False)
    form = OPERATORS["after"].forms[DATETIME]
    monkeypatch.setitem(OPERATORS["after"].forms, DATETIME, dataclasses.replace(form, build=build))


def empty_dates_pass_upper_bounds(monkeypatch):
    """The in-memory back end forgets that an empty datetime is not a moment: `before` and `more_than_days_ago`
    (an upper bound only) then match contacts with no date."""
    real = evaluate._range
    monkeypatch.setattr(evaluate, "_range", lambda values, pred, convert, sentinel=None: real(values, pred, convert))


MUTANTS = [greater_or_equal_as_greater, not_contains_without_negation, rule_value_not_lower_cased,
           field_not_lower_cased, after_without_whole_day, empty_dates_pass_upper_bounds]


@pytest.fixture
def sqlite_database(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'mutant.db'}")
    yield db
    db.engine.dispose()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_the_parity_property_catches(mutant, sqlite_database, monkeypatch):
    mutant(monkeypatch)

    # A fixed seed (derandomize) so the catch is reproducible; the body is the parity test's own. No shrinking:
    # refilling a database per shrink step takes minutes, and the assertion already names the differing contacts.
    @settings(max_examples=300, derandomize=True, database=None, phases=[Phase.generate], **PROPERTY)
    @given(case=cases())
    def parity(case):
        check_back_ends([sqlite_database], *case)

    with pytest.raises(AssertionError) as caught:
        parity()
    print(mutant.__name__, caught.value, *getattr(caught.value, "__notes__", []), sep="\n")
