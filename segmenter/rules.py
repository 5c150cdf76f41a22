"""Parse and validate rules: plain JSON data in, a tree of checked conditions and groups out.
Errors name the rule's position (``rule 2``, ``rule 3.1``), its field and operator, and the valid choices."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from .errors import RuleError
from .fields import PSEUDO_FIELDS, Catalogue
from .operators import OPERATORS, SAMPLE, SEGMENT, Operator, Pred, ValueProblem, operators_for
from .values import char_code, is_invisible, short_repr, unstorable

MAX_RULES = 100
MAX_DEPTH = 3  # groups inside the top-level array
FAR_OVER = 10 * MAX_RULES  # beyond this many, rules are not checked one by one
MAX_RULES_JSON = 1024 * 1024  # bytes of compact UTF-8 JSON (SPEC §2: "at most 1 MB")


# ---- the schema, as pydantic models (the HTTP API's OpenAPI schema comes from these) ------------------------

class RuleModel(BaseModel):
    """One condition on one field."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"field": "status", "operator": "equals", "value": "active"}]})
    field: str = PydField(description="A field name from GET /api/fields (core or custom).")
    operator: str = PydField(description="An operator valid for the field's type; see docs/rules.md.")
    value: Any = PydField(None, description="What the operator takes: string, list, number, date, [A, B], or none.")


class GroupModel(BaseModel):
    """Rules combined with AND (`all`) or OR (`any`); groups nest up to three levels."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"match": "any", "rules": [
        {"field": "company", "operator": "contains", "value": "Inc"},
        {"field": "company", "operator": "contains", "value": "LLC"}]}]})
    match: Literal["any", "all"]
    rules: list[GroupModel | RuleModel] = PydField(min_length=1)


RulesModel = list[GroupModel | RuleModel]


# ---- the checked tree ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    position: str  # "2", "3.1"
    field: str
    field_type: str
    operator: Operator
    value: Any  # checked value (dates as date, datetimes as aware UTC datetime)
    raw: dict  # the canonical JSON form

    def pred(self, now: dt.datetime) -> Pred:
        return self.operator.forms[self.field_type].build(self.value, now)

    @property
    def negate(self) -> bool:
        return self.operator.negate


@dataclass(frozen=True)
class Group:
    position: str
    match: str  # any | all
    members: tuple[Node, ...]
    raw: dict


@dataclass(frozen=True)
class SegmentRef:
    """``in_segment`` / ``not_in_segment``: the referenced segment's current rules, checked (SPEC §9)."""
    position: str
    segment_id: int
    negate: bool
    rules: Rules
    raw: dict


@dataclass(frozen=True)
class Sample:
    """``sample in_range``: ``lo <= n < hi`` on the contact's sample number for ``salt`` (segmenter.sampling)."""
    position: str
    salt: str
    lo: int
    hi: int
    raw: dict


Node = Condition | Group | SegmentRef | Sample

# Resolves a referenced segment id to its checked rules; raises RuleError with the reason (no position) otherwise.
Resolver = Callable[[int], "Rules"]


@dataclass(frozen=True)
class Rules:
    """Validated rules: the top-level nodes (all must match) and the canonical JSON to store."""
    nodes: tuple[Node, ...]
    canonical: list



def _kind(raw: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(raw), "a number" if isinstance(raw, (int, float)) else type(raw).__name__)


def _canonical_value(value: Any) -> Any:
    """The value as stored: JSON values exactly as given; Python dates, datetimes and tuples made JSON."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_canonical_value(v) for v in value]
    return value


class _Checker:
    def __init__(self, catalogue: Catalogue, resolve: Resolver | None = None):
        self.catalogue = catalogue
        self.resolve = resolve
        self.problems: list[str] = []
        self.count = 0

    def field(self, name: Any):
        if not isinstance(name, str):
            return None
        return self.catalogue.get(name) or PSEUDO_FIELDS.get(name)

    def pseudo(self, pos: str, name: str, op: Operator, checked: Any, raw: dict) -> Node | None:
        """The node of a rule on ``segment`` or ``sample``."""
        if name == SAMPLE:
            return Sample(pos, checked.salt, checked.lo, checked.hi, raw)
        if self.resolve is None:
            self.problems.append(f"rule {pos}: segment rules need the saved segments; none are available here")
            return None
        try:
            inner = self.resolve(checked)
        except RuleError as exc:
            self.problems.append(f"rule {pos}: {'; '.join(exc.problems)}")
            return None
        return SegmentRef(pos, checked, op.negate, inner, raw)

    def node(self, raw: Any, pos: str, depth: int) -> Node | None:
        if isinstance(raw, dict) and ("match" in raw or ("rules" in raw and "field" not in raw)):
            return self.group(raw, pos, depth)
        if isinstance(raw, (RuleModel, GroupModel)):
            return self.node(raw.model_dump(exclude_unset=True), pos, depth)
        return self.condition(raw, pos)

    def group(self, raw: dict, pos: str, depth: int) -> Group | None:
        if depth > MAX_DEPTH:
            self.problems.append(f"rule {pos}: groups nest at most {MAX_DEPTH} levels deep")
            return None
        extra = sorted(set(raw) - {"match", "rules"}, key=str)
        if extra:
            self.problems.append(f"rule {pos}: unknown key {short_repr(extra[0])} in a group; expected: match, rules")
        match = raw.get("match")
        if match not in ("any", "all"):
            self.problems.append(f"rule {pos}: group match must be 'any' or 'all', got {short_repr(match)}")
        members = raw.get("rules")
        if not isinstance(members, list) or not members:
            self.problems.append(f"rule {pos}: a group needs at least one rule in 'rules'")
            return None
        checked = [self.node(m, f"{pos}.{i}", depth + 1) for i, m in enumerate(members, 1)]
        nodes = [n for n in checked if n is not None]
        if len(nodes) < len(checked) or match not in ("any", "all"):
            return None
        canonical = {"match": match, "rules": [n.raw for n in nodes]}
        return Group(pos, match, tuple(nodes), canonical)

    def condition(self, raw: Any, pos: str) -> Node | None:
        self.count += 1
        where = f"rule {pos}"
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be an object with field, operator and value, got {_kind(raw)}")
            return None
        extra = sorted(set(raw) - {"field", "operator", "value"}, key=str)
        if extra:
            self.problems.append(f"{where}: unknown key {short_repr(extra[0])}; expected: field, operator, value")
            return None
        name, key = raw.get("field"), raw.get("operator")
        field = self.field(name)
        if field is None:
            names = self.catalogue.names + list(PSEUDO_FIELDS)
            self.problems.append(f"{where}: unknown field {short_repr(name)}; expected one of: {', '.join(names)}")
            return None
        valid = operators_for(field.type)
        op = OPERATORS.get(key) if isinstance(key, str) else None
        if op is None:
            self.problems.append(f"{where}: unknown operator {short_repr(key)} for {field.type} field '{name}'; "
                                 f"expected one of: {', '.join(valid)}")
            return None
        if field.type not in op.forms:
            self.problems.append(f"{where}: operator '{key}' is not valid for {field.type} field '{name}'; "
                                 f"expected one of: {', '.join(valid)}")
            return None
        form = op.forms[field.type]
        value = raw.get("value")
        about = f"{where}: operator '{key}' on {field.type} field '{name}'"
        if form.value.parse is None:  # NONE: the operator takes no value
            if value is not None:
                self.problems.append(f"{about} takes no value, got {short_repr(value)}")
                return None
            # Stored as given: a rule written with "value": null reads back with it.
            canonical = {"field": name, "operator": key, **({"value": None} if "value" in raw else {})}
            return Condition(pos, field.name, field.type, op, None, canonical)
        if value is None:
            self.problems.append(f"{about} needs a value: {form.value.description}")
            return None
        try:
            checked = form.value.parse(value)
        except ValueProblem as exc:
            self.problems.append(f"{about} {exc}")
            return None
        if field.type in (SEGMENT, SAMPLE):
            return self.pseudo(pos, field.name, op, checked, {"field": name, "operator": key, "value": value})
        return Condition(pos, field.name, field.type, op, checked,
                         {"field": name, "operator": key, "value": _canonical_value(value)})


def validate_rules(raw: Any, catalogue: Catalogue, resolve: Resolver | None = None) -> Rules:
    """Check rules against the catalogue; raise RuleError listing every problem, or return the checked tree.
    ``resolve`` turns an ``in_segment`` id into that segment's checked rules (segmenter.compose)."""
    if isinstance(raw, str):
        raise RuleError("rules must be a JSON array of rules, got a string")
    if isinstance(raw, tuple):
        raw = list(raw)
    if not isinstance(raw, list):
        raise RuleError(f"rules must be a JSON array of rules, got {_kind(raw)}")
    # Far over the limit: say so without walking (and wording) every one of a million items. Each top-level item is
    # a rule or a group holding at least one, so the length alone already tells.
    if len(raw) > FAR_OVER:
        raise RuleError(_too_many(len(raw)))
    if count_rules(raw, stop_after=FAR_OVER) > FAR_OVER:
        raise RuleError(_too_many(FAR_OVER, more_than=True))
    checker = _Checker(catalogue, resolve)
    checked = [checker.node(r, str(i), 1) for i, r in enumerate(raw, 1)]
    nodes = [n for n in checked if n is not None]  # a None came with a problem: raised below
    if checker.count > MAX_RULES:
        checker.problems.insert(0, _too_many(checker.count))
    if checker.problems:
        raise RuleError(checker.problems)
    canonical = [n.raw for n in nodes]
    size = len(json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_RULES_JSON:
        raise RuleError(f"the rules are {size:,} bytes as compact JSON; at most {MAX_RULES_JSON:,} (1 MB) "
                        "are allowed")
    return Rules(tuple(nodes), canonical)


def _too_many(count: int, more_than: bool = False) -> str:
    said = f"more than {count:,}" if more_than else f"{count:,}"
    return f"too many rules: {said}; at most {MAX_RULES} are allowed (counting the rules inside groups)"


def count_rules(raw: list, stop_after: int | None = None) -> int:
    """How many rules (not groups) ``raw`` holds, counted as the checker counts them, without recursion: groups
    deeper than ``MAX_DEPTH`` are not entered (the checker reports them instead). With ``stop_after``, counting
    stops once the count passes it."""
    count, stack = 0, [(item, 1) for item in raw]
    while stack and (stop_after is None or count <= stop_after):
        item, depth = stack.pop()
        if isinstance(item, GroupModel | RuleModel):
            item = item.model_dump(exclude_unset=True)
        is_group = isinstance(item, dict) and ("match" in item or ("rules" in item and "field" not in item))
        if not is_group:
            count += 1
        elif depth <= MAX_DEPTH and isinstance(item.get("rules"), list):
            stack.extend((member, depth + 1) for member in item["rules"])
    return count


MAX_NAME = 200


def validate_name(name: Any) -> str:
    """A segment name: 1–200 characters after trimming, at least one of them visible, every one storable."""
    if not isinstance(name, str):
        raise RuleError(f"name must be a string, got {_kind(name)}")
    text = name.strip()
    if not text:
        raise RuleError("name must not be empty")
    if len(text) > MAX_NAME:
        raise RuleError(f"name is {len(text):,} characters; at most {MAX_NAME} are allowed")
    reason = unstorable(text)
    if reason:
        raise RuleError(f"name {reason}")
    if all(is_invisible(c) or c.isspace() for c in text):
        codes = ", ".join(dict.fromkeys(char_code(c) for c in text))
        raise RuleError(f"name must not be empty: it holds only invisible characters ({codes})")
    return text


# ---- plain English ---------------------------------------------------------------------------------------------

def _say_value(value: Any) -> str:
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return ", ".join(f"'{v}'" for v in value)
        return " and ".join(str(v) for v in value)
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def describe(rules: list | Rules, top: bool = True) -> str:
    """Canonical rules → plain English: ``status is 'active' and company contains 'Inc'``."""
    canonical = rules.canonical if isinstance(rules, Rules) else rules
    if not canonical:
        return "all contacts" if top else ""
    parts = []
    for r in canonical:
        if "match" in r:
            joiner = " or " if r["match"] == "any" else " and "
            inner = joiner.join(describe([m], top=False) for m in r["rules"])
            parts.append(f"({inner})" if len(r["rules"]) > 1 else inner)
        else:
            parts.append(_describe_rule(r))
    return " and ".join(parts)


def _describe_rule(rule: dict) -> str:
    """One rule in plain English, worded by its operator's entry in the registry."""
    op = OPERATORS.get(str(rule.get("operator")))
    value = rule.get("value")
    template = op.human_template if op else None
    if template is not None and isinstance(value, list) and len(value) == 2:
        return template.format(field=rule["field"], value=value, low=_say_value(value[0]),
                               high=_say_value(value[1]))
    if template is not None and "{low}" not in template:
        return template.format(field=rule["field"], value=value)
    text = f"{rule['field']} {op.label if op else rule.get('operator')}"
    return text if value is None else f"{text} {_say_value(value)}"
