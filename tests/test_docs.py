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
    seg.add_contacts([{"email": "a@x.com", "status": "active", "company": "Acme Inc", "mrr": 120.0, "vip": True,
                       "country": "Spain", "created_at": "2025-03-10T08:00:00Z"}])
    return seg


def test_every_example_is_a_valid_rule(demo):
    for rules in documented_examples().values():
        for rule in rules:
            assert demo.count([rule]) in (0, 1)
