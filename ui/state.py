"""Session-state keys in one place, and the Build page's draft: the rules being edited, as rows for widgets.

A draft item is a rule row ``{"key", "field", "operator", "value"}``, a group ``{"key", "match", "rules": [...]}``
(one level of groups is edited with widgets), or ``{"key", "raw": {...}}`` for a deeper group pasted as JSON,
which is kept as it is and shown in plain English."""
from __future__ import annotations

from typing import Any, Literal

import streamlit as st

DRAFT = "draft"              # list of draft items (the rules on the Build page)
LOADED = "loaded_segment"    # {"id", "name", "rules"} of the saved segment open in Build (rules as saved), or None
QUERY_APPLIED = "query_applied"  # the ?segment= / ?rules= pair already applied, so edits are not overwritten
NEXT_KEY = "next_key"        # counter for widget keys of new rows
FLASH = "flash"              # a one-shot message shown after a rerun (e.g. "Saved")
CONFLICT = "conflict"        # a save, rename or delete refused because a teammate changed the segment meanwhile:
#                              {"action", "id", "version", "updated_by", "updated_at", "mine": {...}} (SPEC §3 Versions)


def init() -> None:
    st.session_state.setdefault(DRAFT, [])
    st.session_state.setdefault(LOADED, None)
    st.session_state.setdefault(QUERY_APPLIED, None)
    st.session_state.setdefault(NEXT_KEY, 0)


def new_key(prefix: str = "r") -> str:
    st.session_state[NEXT_KEY] = st.session_state.get(NEXT_KEY, 0) + 1
    return f"{prefix}{st.session_state[NEXT_KEY]}"


def is_group(raw: Any) -> bool:
    return isinstance(raw, dict) and "match" in raw


def _row(raw: dict) -> dict:
    return {"key": new_key(), "field": raw.get("field"), "operator": raw.get("operator"), "value": raw.get("value")}


def _member(raw: Any) -> dict:
    return {"key": new_key("x"), "raw": raw} if is_group(raw) else _row(raw)


def items_from_rules(rules: list) -> list[dict]:
    """Validated rules → draft items (fresh keys, so every widget starts from the rule's values)."""
    items = []
    for raw in rules:
        if is_group(raw):
            items.append({"key": new_key("g"), "match": raw["match"], "rules": [_member(m) for m in raw["rules"]]})
        else:
            items.append(_row(raw))
    return items


def row_rule(row: dict) -> dict:
    """A rule row as rule JSON (no value key for operators that take none)."""
    rule = {"field": row["field"], "operator": row["operator"]}
    if row.get("value") is not None:
        rule["value"] = row["value"]
    return rule


def load(rules: list, loaded: dict | None) -> None:
    """Replace the draft with these (validated) rules; ``loaded`` is the segment they come from, if any. Opening
    another segment (or the same one afresh) drops a refused save still waiting for a choice."""
    if loaded is not st.session_state.get(LOADED):
        st.session_state.pop(CONFLICT, None)
    st.session_state[DRAFT] = items_from_rules(rules)
    st.session_state[LOADED] = loaded


def flash(kind: Literal["success", "error"], message: str) -> None:
    """Show ``message`` as ``st.success`` / ``st.error`` on the next run (after ``st.rerun`` or a callback)."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """The message left by ``flash``, once."""
    message = st.session_state.pop(FLASH, None)
    if message:
        getattr(st, message[0])(message[1])


def opened(segment: dict) -> dict:
    """What LOADED keeps of a saved segment: enough to name it, to tell whether the screen differs from it, and the
    version it was opened at (every save, rename and delete says it, so a teammate's newer save is never lost)."""
    return {"id": segment["id"], "name": segment["name"], "rules": segment.get("rules"),
            "version": segment.get("version")}


def conflict(action: str, exc: Any, mine: dict) -> None:
    """Remember a refused change (``exc`` a SegmentConflict) until the user chooses what to do with it."""
    st.session_state[CONFLICT] = {"action": action, "id": exc.segment_id, "version": exc.version,
                                  "updated_by": exc.updated_by, "updated_at": exc.updated_at, "mine": mine}


def open_conflict(action: str, segment_id: int) -> dict | None:
    """The refused ``action`` on ``segment_id`` still waiting for a choice, if any."""
    found = st.session_state.get(CONFLICT)
    return found if found and found["action"] == action and found["id"] == segment_id else None


def is_edited(rules: list, waiting: int) -> bool:
    """Whether the rules on screen differ from the opened segment as saved (rows waiting for a value count)."""
    loaded = st.session_state[LOADED]
    return bool(loaded) and (waiting > 0 or rules != loaded.get("rules"))


def sync_address(rules: list, encoded: str | None) -> None:
    """Keep what is on screen in the address: ``?segment=ID`` for the opened segment, plus ``&rules=…`` once the
    rules differ from it (or for a new segment), so a reload or Back restores them. ``encoded`` is the rules'
    link form, or None when they are too long for a link."""
    loaded = st.session_state[LOADED]
    params: dict[str, str] = {}
    if loaded:
        params["segment"] = str(loaded["id"])
    if rules and encoded and (not loaded or rules != loaded.get("rules")):
        params["rules"] = encoded
    # Marked as applied first, so this run's own address change does not reload the draft on the next run.
    st.session_state[QUERY_APPLIED] = (params.get("segment"), params.get("rules"))
    if {k: st.query_params.get(k) for k in ("segment", "rules") if st.query_params.get(k)} != params:
        st.query_params.from_dict(params)
