"""The field catalogue: the core contact fields and the custom fields, each with its type."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .operators import DATETIME, FIELD_TYPES, NUMBER, SAMPLE, SEGMENT, TEXT

__all__ = ["FIELD_TYPES", "MAX_NAME_BYTES", "valid_field_name", "Field", "CORE_FIELDS", "CORE_NAMES",
           "CORE_COLUMNS", "CORE_TYPES", "DATABASE_NAMES", "PRODUCT_NAMES", "RESERVED_NAMES", "Catalogue"]

# A custom field name (SPEC §1 *Keys and values*): lower-case snake_case that keeps Unicode letters, starting with a
# letter, at most 63 bytes of UTF-8 (PostgreSQL's identifier limit; a longer one would be cut and could collide).
MAX_NAME_BYTES = 63


def valid_field_name(name: str) -> bool:
    """Whether ``name`` can be a custom field as it is: letters (any script), marks, digits and ``_``, starting
    with a letter, already lower-case, not ending in ``_``, at most 63 bytes of UTF-8."""
    return (bool(name) and len(name.encode("utf-8")) <= MAX_NAME_BYTES and name == name.lower()
            and unicodedata.category(name[0])[0] == "L" and not name.endswith("_")
            and all(c == "_" or unicodedata.category(c)[0] in "LMN" for c in name))


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    custom: bool = False

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "custom": self.custom}


CORE_FIELDS: tuple[Field, ...] = (
    Field("id", NUMBER),
    Field("email", TEXT),
    Field("name", TEXT),
    Field("company", TEXT),
    Field("status", TEXT),
    Field("created_at", DATETIME),
)
CORE_NAMES = frozenset(f.name for f in CORE_FIELDS)
CORE_COLUMNS = [f.name for f in CORE_FIELDS]  # the export's first columns, in this order
CORE_TYPES = {f.name: f.type for f in CORE_FIELDS if f.name != "id"}  # what a record or CSV column may set
# Names a custom field may not take: the core fields and the store's own bookkeeping.
# SPEC §1 *Keys and values*: names the databases keep for themselves (SQLite's rowid aliases, PostgreSQL's system
# columns) and names the product uses (segment output keys, the §9 pseudo-fields).
DATABASE_NAMES = frozenset({"rowid", "_rowid_", "oid", "xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"})
PRODUCT_NAMES = frozenset({"contacts_count", "segment", "sample"})
RESERVED_NAMES = CORE_NAMES | DATABASE_NAMES | PRODUCT_NAMES
# The pseudo-fields of SPEC §9: filterable, listed by fields(), but no column (segment membership, random sample).
PSEUDO_FIELDS: dict[str, Field] = {"segment": Field("segment", SEGMENT), "sample": Field("sample", SAMPLE)}


class Catalogue:
    """Every filterable field by name: core fields first, then custom fields in the order they were made."""

    def __init__(self, custom: list[Field] | tuple[Field, ...] = ()):
        self._fields = {f.name: f for f in CORE_FIELDS}
        for f in custom:
            self._fields[f.name] = Field(f.name, f.type, True)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def get(self, name: str) -> Field | None:
        return self._fields.get(name)

    def __iter__(self):
        return iter(self._fields.values())

    @property
    def names(self) -> list[str]:
        return list(self._fields)

    @property
    def custom(self) -> list[Field]:
        return [f for f in self._fields.values() if f.custom]
