"""The request and response bodies of the HTTP API (their pydantic models make its OpenAPI schema)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema
from pydantic.json_schema import JsonDict

from ..rules import RulesModel

# Rules in a request body are taken as plain JSON and checked by the core (segmenter.rules), off the event loop and
# with SPEC's wording and limits: validating a hostile body against the models themselves (a million items, each
# failing both branches of the union) cost seconds and gigabytes before the core could say "too many rules". The
# schema stays the models' own, so the API description (and schemathesis) see the same shape as before.
_RULES_SCHEMA: JsonDict = {"type": "array", "items": {"anyOf": [{"$ref": "#/components/schemas/GroupModel"},
                                                                 {"$ref": "#/components/schemas/RuleModel"}]}}
RulesIn = Annotated[list[Any], WithJsonSchema({**_RULES_SCHEMA, "title": "Rules"})]

SEED_RULES: list[JsonValue] = [{"field": "status", "operator": "equals", "value": "active"},
              {"field": "company", "operator": "contains", "value": "Inc"}]
SEED_SEGMENT: JsonDict = {"name": "Active Enterprise", "rules": SEED_RULES}


class SegmentIn(BaseModel):
    """A new segment: a name and its rules (all must match)."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEED_SEGMENT]})
    name: str = Field(description="1–200 characters after trimming; duplicates are allowed.")
    rules: RulesIn = Field(description="Rules and groups; a contact matches when all match. [] matches everyone.")


class SegmentPatch(BaseModel):
    """Fields to change; a missing or null field keeps its value."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Active Inc"}]})
    name: str | None = None
    rules: Annotated[list[Any] | None, WithJsonSchema({"anyOf": [_RULES_SCHEMA, {"type": "null"}],
                                                       "title": "Rules"})] = None


class PreviewIn(BaseModel):
    """Rules to count without saving a segment."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rules": SEED_RULES}]})
    rules: RulesIn


class SegmentOut(BaseModel):
    """A saved segment with its count as of this read (null when its rules name a field that no longer exists)."""
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": 3, "name": "Active Enterprise", "rules": SEED_RULES, "contacts_count": 142, "version": 1,
         "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z",
         "created_by": None, "updated_by": None}]})
    id: int
    name: str
    rules: RulesModel
    contacts_count: int | None
    error: str | None = Field(None, description="Only when the segment can no longer be evaluated: why (e.g. a field "
                                                "its rules name was removed).")
    version: int | None = Field(None, description="1 when created, one more on every change of name or rules; also "
                                                  "the ETag of GET /api/segments/{id}.")
    created_at: str | None = None
    updated_at: str | None = None
    created_by: str | None = None
    updated_by: str | None = None


class ContactOut(BaseModel):
    """A contact; custom fields follow as extra keys. Missing values are null."""
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": 12, "email": "alice@acme-inc.com", "name": "Alice Chen", "company": "Acme Inc",
         "status": "active", "created_at": "2026-01-05T10:00:00Z"}]})
    id: int
    email: str
    name: str | None = None
    company: str | None = None
    status: str | None = None
    created_at: str | None = None


class DeletedOut(BaseModel):
    """How many contacts were erased."""
    deleted: int


class CountOut(BaseModel):
    contacts_count: int


class FieldOut(BaseModel):
    """A filterable field and the operators valid for its type (``segment`` and ``sample`` are pseudo-fields)."""
    name: str
    type: Literal["text", "number", "datetime", "boolean", "segment", "sample"]
    custom: bool
    operators: list[str]


class ErrorOut(BaseModel):
    """What went wrong: one message, and each problem on its own (e.g. one per invalid rule)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "detail": "rule 2: unknown operator 'contain' for text field 'company'; expected one of: equals, ...",
        "problems": ["rule 2: unknown operator 'contain' for text field 'company'; expected one of: equals, ..."]}]})
    detail: str
    problems: list[str]


SegmentOrRules = int | RulesModel


class OverlapIn(BaseModel):
    """Two segments to compare, each a saved segment's id or a rules list."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"a": 3, "b": SEED_RULES}]})
    a: SegmentOrRules
    b: SegmentOrRules


class OverlapOut(BaseModel):
    a: int
    b: int
    both: int
    only_a: int
    only_b: int
    either: int
    jaccard: float = Field(description="both / either; 0.0 when either is 0")


class SplitPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    percent: int = Field(description="A whole percent >= 1; the parts' percents add up to 100.")


class SplitIn(BaseModel):
    """A saved segment (``segment_id``) or rules to split into random parts by the sample hash (SPEC §9)."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "segment_id": 3, "salt": "spring-2026", "parts": [{"name": "A", "percent": 45}, {"name": "B", "percent": 45},
                                                           {"name": "holdout", "percent": 10}]}]})
    segment_id: int | None = None
    rules: RulesModel | None = None
    parts: list[SplitPart]
    salt: str


class SplitPartOut(BaseModel):
    part: str
    rules: RulesModel
    contacts_count: int


class HistoryOut(BaseModel):
    at: str
    contacts_count: int
    entered: int
    left: int


class ChangesOut(BaseModel):
    since: str = Field(description="The time of the record compared with")
    entered: list[int]
    left: list[int]


def error_responses(*codes: int) -> dict:
    """The ``responses=`` entry that documents these error statuses with the ``ErrorOut`` body."""
    return {code: {"model": ErrorOut} for code in codes}
