"""docs/rules.md stays in step with the operator registry, and its examples are valid rules that run."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from segmenter.operators import OPERATORS

RULES_MD = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def documented_examples() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for line in RULES_MD.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \|.*\| `(\{.*\})` \|$", line)
        if match:
            found.setdefault(match.group(1), []).append(json.loads(match.group(2)))
    return found


def test_every_operator_is_documented_with_an_example():
    examples = documented_examples()
    assert set(examples) == set(OPERATORS), set(OPERATORS) ^ set(examples)
    for key, rules in examples.items():
        assert all(r["operator"] == key for r in rules), key


def test_every_documented_type_matches_the_registry():
    text = RULES_MD.read_text(encoding="utf-8")
    sections = dict(re.findall(r"### (\w+)\n(.*?)(?=\n### |\n## )", text, flags=re.S))
    by_type = {"Text": "text", "Number": "number", "Datetime": "datetime", "Boolean": "boolean"}
    for title, field_type in by_type.items():
        keys = set(re.findall(r"^\| `(\w+)` \|", sections[title], flags=re.M))
        expected = {k for k, op in OPERATORS.items() if field_type in op.forms and k not in ("is_empty", "is_not_empty")}
        assert keys == expected, (title, keys ^ expected)


@pytest.fixture
def demo(seg):
    seg.add_contacts([
        {"email": "a@x.com", "status": "active", "company": "Acme Inc", "mrr": 120.0, "vip": True,
         "country": "Spain", "created_at": "2025-03-10T08:00:00Z"},
        {"email": "sales@x.com", "status": "bounced", "company": "", "mrr": 0, "vip": False,
         "country": "Germany", "created_at": "2025-07-01T00:00:00Z"},
        {"email": "c@gmail.com", "status": "pending", "company": "Beta LLC", "mrr": 99.5,
         "created_at": "2024-12-31T23:59:59Z"},
        {"email": "d@x.com", "mrr": 20},  # created now
    ])
    seg.create_segment("Active", [{"field": "status", "operator": "equals", "value": "active"}])  # id 1, as the docs use
    return seg


# What each documented example selects from the four contacts above, worked out by hand from SPEC §2 and §9.
EXPECTED = {
    ("equals", "status"): {"a@x.com"},
    ("not_equals", "status"): {"a@x.com", "c@gmail.com", "d@x.com"},  # no status: matches
    ("contains", "company"): {"a@x.com"},
    ("not_contains", "company"): {"sales@x.com", "c@gmail.com", "d@x.com"},
    ("starts_with", "email"): {"sales@x.com"},
    ("ends_with", "email"): {"c@gmail.com"},
    ("in", "status"): {"a@x.com", "c@gmail.com"},
    ("not_in", "country"): {"a@x.com", "c@gmail.com", "d@x.com"},
    ("equals", "mrr"): {"sales@x.com"},
    ("not_equals", "mrr"): {"a@x.com", "c@gmail.com", "d@x.com"},
    ("greater_than", "mrr"): {"a@x.com"},
    ("less_than", "mrr"): {"sales@x.com"},
    ("greater_than_or_equal", "mrr"): {"a@x.com", "c@gmail.com"},  # 99.5 is on the bound
    ("less_than_or_equal", "mrr"): {"sales@x.com", "d@x.com"},  # 20 is on the bound
    ("between", "mrr"): {"d@x.com"},
    ("before", "created_at"): {"c@gmail.com"},
    ("after", "created_at"): {"sales@x.com", "d@x.com"},
    ("on", "created_at"): {"a@x.com"},
    ("between", "created_at"): {"a@x.com"},
    ("in_last_days", "created_at"): {"d@x.com"},
    ("more_than_days_ago", "created_at"): {"a@x.com", "sales@x.com", "c@gmail.com"},
    ("is_true", "vip"): {"a@x.com"},
    ("is_false", "vip"): {"sales@x.com"},
    ("is_empty", "company"): {"sales@x.com", "d@x.com"},  # '' and missing
    ("is_not_empty", "company"): {"a@x.com", "c@gmail.com"},
    ("in_segment", "segment"): {"a@x.com"},  # segment 1: status equals active
    ("not_in_segment", "segment"): {"sales@x.com", "c@gmail.com", "d@x.com"},
    # sample points for salt "spring-2026": a 72.0, sales 0.31, c 16.6, d 22.9 (SPEC §9's formula)
    ("in_range", "sample"): {"sales@x.com"},
}


def test_every_example_selects_what_the_docs_say(demo):
    examples = [rule for rules in documented_examples().values() for rule in rules]
    assert {(r["operator"], r["field"]) for r in examples} == set(EXPECTED), "give each new example its answer"
    for rule in examples:
        expected = EXPECTED[(rule["operator"], rule["field"])]
        assert {c["email"] for c in demo.contacts([rule])} == expected, rule
        assert demo.count([rule]) == len(expected), rule
