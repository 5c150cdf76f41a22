"""The field catalogue: the core contact fields and the custom fields, each with its type."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .operators import BOOLEAN, DATETIME, NUMBER, TEXT

CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


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
# Names a custom field may not take: the core fields and the store's own bookkeeping.
RESERVED_NAMES = CORE_NAMES | {"contacts_count", "rowid", "oid"}


def python_type_of(value: object) -> str | None:
    """The field type a Python value implies for a new custom field (None: no value to tell from)."""
    import datetime as dt

    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, (dt.date, dt.datetime)):
        return DATETIME
    if isinstance(value, str):
        return TEXT
    return None


def check_custom_name(name: str) -> str | None:
    """A reason the name cannot be a custom field, or None when it can."""
    if name in RESERVED_NAMES:
        return f"'{name}' is a reserved field name"
    if not CUSTOM_NAME.match(name):
        return f"'{name}' is not a valid field name (lower-case letters, digits and _, starting with a letter)"
    return None


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
