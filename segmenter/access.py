"""Who may do what (SPEC §10): the three roles, the app's allow lists, HTTP API keys with roles, and the
Segmenter that ``seg.as_user(email, role)`` returns, whose calls raise ``PermissionDenied`` beyond its role.

The check lives in the core so that every front end (app, HTTP, CLI, notebook) gets it from one table, and a page
that forgets a check cannot skip it. It guards against mistakes, not against code that holds the database URL."""
from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import PermissionDenied, SegmenterError

if TYPE_CHECKING:  # pragma: no cover
    from .service import Segmenter

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
ROLES = (VIEWER, EDITOR, ADMIN)
_RANK = {role: i for i, role in enumerate(ROLES)}
VIEWER_PAGE_LIMIT = 100  # a viewer reads contacts a page of at most this many at a time (SPEC §10)

# What each public method of Segmenter needs. A public method that is not listed needs ``admin``: a method added
# later is closed until someone decides who may call it (fail closed).
NEEDS: dict[str, str] = {
    # viewer: build rules, see counts, previews, funnel, breakdown, explain; open links
    **dict.fromkeys([
        "fields", "catalogue", "validate", "count", "funnel", "contacts", "explain", "breakdown", "total_contacts",
        "suggestions", "list_segments", "get_segment", "get_segment_contacts", "contact_batches", "export_columns",
        "order", "overlap", "split", "history", "changes", "as_user", "close", "segment_graph", "resolver",
        "segment_users", "segment_choices", "backend_status", "get_contact", "search_contacts"], VIEWER),
    # editor: + save, update, rename, duplicate, delete segments; export CSV
    **dict.fromkeys([
        "create_segment", "update_segment", "delete_segment", "export_csv", "export_frames", "match",
        "record_counts", "export_ids_csv"], EDITOR),
    # admin: + import or add contacts, erase contacts, import segment definitions, load demo data, the audit log
    **dict.fromkeys([
        "add_contacts", "import_csv", "preview_csv", "load_demo", "delete_contacts", "import_definitions",
        "audit_log"], ADMIN),
}

# How a refusal words the action (else the method's name).
ACTIONS = {
    "create_segment": "saving a segment", "update_segment": "changing a segment", "delete_segment":
    "deleting a segment", "export_csv": "exporting contacts", "export_frames": "exporting contacts",
    "match": "reading every matching contact", "record_counts": "recording segment history",
    "export_ids_csv": "exporting contacts",
    "add_contacts": "adding contacts", "import_csv": "importing contacts", "preview_csv": "importing contacts",
    "load_demo": "loading demo data", "delete_contacts": "erasing contacts", "import_definitions":
    "importing segment definitions", "audit_log": "reading the audit log",
}


def check_role(role: Any) -> str:
    """The role, or a SegmenterError naming the valid ones."""
    if role not in ROLES:
        raise SegmenterError(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    return role


def may(role: str, needed: str) -> bool:
    """Whether ``role`` includes what ``needed`` allows (viewer < editor < admin)."""
    return _RANK[role] >= _RANK[needed]


def needs(method: str) -> str:
    """The role a Segmenter method needs (``admin`` for one nobody has classified)."""
    return NEEDS.get(method, ADMIN)


def denied(who: str | None, role: str, needed: str, action: str) -> PermissionDenied:
    """The refusal: who, their role, what they tried and the role it needs."""
    return PermissionDenied(f"{who or 'this user'} has the {role} role; {action} needs the {needed} role")


def os_user() -> str:
    """$SEGMENTER_USER's fallback in the audit trail: the operating-system user running the process."""
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


# ---- the Segmenter limited to a role ---------------------------------------------------------------------------

def scoped_class() -> type:
    """The subclass of Segmenter whose public methods check the role first (made once, on first use)."""
    global _SCOPED
    if _SCOPED is None:
        from .service import Segmenter

        class ScopedSegmenter(Segmenter):
            """A Segmenter for one person or key: same engine and shared snapshot, calls limited to ``role``.
            Made by ``Segmenter.as_user``; closing it leaves the shared connection open."""

            def __getattribute__(self, name: str) -> Any:
                if name[:1] != "_" and name in _GUARDED:
                    role = object.__getattribute__(self, "role")
                    needed = _GUARDED[name]
                    if not may(role, needed):
                        raise denied(object.__getattribute__(self, "user"), role, needed, ACTIONS.get(name, name))
                return object.__getattribute__(self, name)

            def contacts(self, rules: Any, *, limit: int | None = None, offset: int = 0, **kw: Any) -> list[dict]:
                if self.role != VIEWER or not isinstance(offset, int) or isinstance(limit, bool):
                    return super().contacts(rules, limit=limit, offset=offset, **kw)
                if isinstance(limit, int) and limit > VIEWER_PAGE_LIMIT:
                    raise self._page_denied(limit)
                if limit is None:  # the whole result: allowed while it fits in one viewer's page
                    rows = super().contacts(rules, limit=VIEWER_PAGE_LIMIT + 1, offset=offset, **kw)
                    if len(rows) > VIEWER_PAGE_LIMIT:
                        raise self._page_denied(None)
                    return rows
                return super().contacts(rules, limit=limit, offset=offset, **kw)

            def contact_batches(self, segment_id_or_rules: Any, *, limit: int | None = None, offset: int = 0,
                                **kw: Any) -> Iterator[list[dict]]:
                if self.role != VIEWER:
                    return super().contact_batches(segment_id_or_rules, limit=limit, offset=offset, **kw)
                # A viewer's page is at most VIEWER_PAGE_LIMIT rows: read it whole, with the same checks as contacts.
                kw.pop("batch", None)
                return iter([self.contacts(self._rules_of(segment_id_or_rules), limit=limit, offset=offset, **kw)])

            def _page_denied(self, limit: int | None) -> PermissionDenied:
                asked = f"a page of {limit:,} contacts" if limit is not None else "every matching contact at once"
                return denied(self.user, self.role, EDITOR,
                              f"reading {asked} (more than {VIEWER_PAGE_LIMIT} in one page)")

            def as_user(self, email: str, role: str, *, via: str | None = None) -> Segmenter:
                if not may(self.role, check_role(role)):  # no way up from a scoped Segmenter
                    raise denied(self.user, self.role, role, f"acting as {role}")
                return scope(self, email, role, via)

            def close(self) -> None:
                """The engine and snapshot belong to the Segmenter this one was made from."""

        _SCOPED = ScopedSegmenter
        from .service import Segmenter as base
        _GUARDED.update({name: needs(name) for name in dir(base)
                         if name[:1] != "_" and callable(getattr(base, name, None))})
    return _SCOPED


_SCOPED: type | None = None
_GUARDED: dict[str, str] = {}


def scope(seg: Segmenter, who: str, role: str, via: str | None = None) -> Segmenter:
    """A Segmenter sharing ``seg``'s engine, back end and snapshot, acting as ``who`` with ``role``."""
    check_role(role)
    if not isinstance(who, str) or not who.strip():
        raise SegmenterError("as_user needs the person's email (or the key's name), got " + repr(who))
    cls = scoped_class()
    out: Segmenter = object.__new__(cls)
    out.__dict__.update(seg.__dict__)
    out.__dict__.update(user=who.strip(), role=role, via=via or seg.__dict__.get("via", "python"))
    return out


# ---- the app's allow lists ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class People:
    """One list from ``[segmenter]`` in secrets.toml: exact emails and ``@domain`` entries."""
    emails: frozenset[str]
    domains: frozenset[str]

    def matches(self, email: str, verified: bool | None) -> bool:
        """An exact email matches unless the provider says it is unverified; ``@domain`` needs a verified email
        whose domain is exactly that one (``@team.example`` matches neither ``x@sub.team.example`` nor
        ``x@evilteam.example``)."""
        email = email.strip().lower()
        if email in self.emails and verified is not False:
            return True
        domain = email.rpartition("@")[2]
        return verified is True and "@" + domain in self.domains


def parse_people(key: str, value: Any) -> People:
    """``allowed`` / ``editors`` / ``admins``: a list of strings (or one comma-separated string); each an email or
    ``@domain``. Anything else is a SegmenterError naming the list and the entry (the app then lets nobody in)."""
    if value is None:
        return People(frozenset(), frozenset())
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise SegmenterError(f"[segmenter] {key} must be a list of emails or @domain entries, got {value!r}")
    emails, domains = set(), set()
    for raw in value:
        entry = raw.strip().lower() if isinstance(raw, str) else raw
        if entry == "":
            continue
        if isinstance(entry, str) and _DOMAIN.match(entry):
            domains.add(entry)
        elif isinstance(entry, str) and _EMAIL.match(entry):
            emails.add(entry)
        else:
            raise SegmenterError(f"[segmenter] {key}: {raw!r} is neither an email nor an @domain entry")
    return People(frozenset(emails), frozenset(domains))


@dataclass(frozen=True)
class Team:
    """Who may enter the app and with which role, from ``[segmenter]`` in secrets.toml."""
    allowed: People
    editors: People
    admins: People

    @classmethod
    def from_section(cls, section: Any) -> Team:
        section = section if isinstance(section, dict) or hasattr(section, "get") else {}
        return cls(*(parse_people(k, section.get(k)) for k in ("allowed", "editors", "admins")))

    def role_for(self, email: str | None, verified: bool | None) -> str | None:
        """The person's role, or None when they may not enter. Fail closed: no ``allowed`` list, nobody."""
        if not isinstance(email, str) or not email.strip() or not self.allowed.matches(email, verified):
            return None
        if self.admins.matches(email, verified):
            return ADMIN
        if self.editors.matches(email, verified):
            return EDITOR
        return VIEWER
