"""The Segments page's list: one searchable, sortable table (usable with hundreds of segments, unlike a card per
segment) and the actions on the segment chosen from it — open, duplicate, rename, delete."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from segmenter import SegmentConflict, Segmenter, SegmenterError
from segmenter.rules import MAX_NAME, describe

from . import auth, compare, state
from . import format as fmt
from .resources import current_user

COPY = " (copy)"  # appended to a duplicated segment's name, which is cut to fit MAX_NAME

SORTS: dict[str, tuple[Callable[[dict], object], bool]] = {
    "Last changed (newest first)": (lambda s: (s["updated_at"] or "", s["id"]), True),
    "Name (A–Z)": (lambda s: (fmt.fold(s["name"]), s["id"]), False),
    "Contacts (most first)": (lambda s: (s["contacts_count"] if s["contacts_count"] is not None else -1, -s["id"]),
                              True),
    "Id (oldest first)": (lambda s: s["id"], False),
}


def same_name_note(segments: list[dict], name: str, own_id: int | None) -> str | None:
    """Names may repeat (SPEC), but a teammate picking from a list should be told: "2 other segments are named …"."""
    others = [s for s in segments if s["name"] == name and s["id"] != own_id]
    if not others:
        return None
    ids = ", ".join(f"#{s['id']}" for s in others[:5]) + ("…" if len(others) > 5 else "")
    what = "other segment is" if len(others) == 1 else "other segments are"
    return f"{len(others)} {what} named “{fmt.md(fmt.cut(name))}” ({ids})."


def changed_by(found: dict) -> str:
    """``ana@team.example at 2026-12-01 20:15 UTC (version 4)``: who changed a segment last, and when."""
    who = fmt.md(found["updated_by"]) if found.get("updated_by") else "someone (not recorded)"
    return f"{who} at {fmt.when(found.get('updated_at'))} (version {found['version']})"


def _duplicate(seg: Segmenter, segment: dict) -> None:
    name = segment["name"][:MAX_NAME - len(COPY)] + COPY
    try:
        copy = seg.create_segment(name, segment["rules"], user=current_user())
        state.flash("success", f"Duplicated as #{copy['id']} “{fmt.md(copy['name'])}”.")
    except SegmenterError as exc:
        state.flash("error", f"Not duplicated: {exc}")


def _rename(seg: Segmenter, segment: dict, name: str | None = None, overwrite_version: int | None = None) -> None:
    """Rename from the version listed (or ``overwrite_version``, chosen after a conflict); a teammate's newer change
    is a conflict to decide about, never overwritten silently."""
    segment_id = segment["id"]
    name = st.session_state[f"rename:{segment_id}"] if name is None else name
    expected = overwrite_version if overwrite_version is not None else segment.get("version")
    try:
        renamed = seg.update_segment(segment_id, name=name, expected_version=expected, user=current_user())
    except SegmentConflict as exc:
        state.conflict("rename", exc, {"name": name, "rules": segment["rules"]})
        return
    except SegmenterError as exc:
        state.flash("error", f"Not renamed: {exc}")
        return
    st.session_state.pop(state.CONFLICT, None)
    loaded = st.session_state[state.LOADED] or {}
    if loaded.get("id") == segment_id:
        # the open segment keeps the version it was opened at, unless this rename was made from that very version
        version = renamed["version"] if loaded.get("version") == expected else loaded.get("version")
        st.session_state[state.LOADED] = {**loaded, "name": renamed["name"], "version": version}
    note = same_name_note(seg.list_segments(), renamed["name"], segment_id)
    state.flash("success", f"Renamed #{segment_id} to “{fmt.md(renamed['name'])}”." + (f" {note}" if note else ""))


def _delete(seg: Segmenter, segment: dict, overwrite_version: int | None = None) -> None:
    expected = overwrite_version if overwrite_version is not None else segment.get("version")
    try:
        seg.delete_segment(segment["id"], expected_version=expected)
    except SegmentConflict as exc:
        state.conflict("delete", exc, {"name": segment["name"]})
        return
    except SegmenterError as exc:
        state.flash("error", f"Not deleted: {exc}")
        return
    st.session_state.pop(state.CONFLICT, None)
    if (st.session_state[state.LOADED] or {}).get("id") == segment["id"]:
        st.session_state[state.LOADED] = None  # Build keeps the rules, as a new unsaved segment
    state.flash("success", f"Deleted #{segment['id']} “{fmt.md(segment['name'])}”.")


def _keep_theirs(segment_id: int) -> None:
    st.session_state.pop(state.CONFLICT, None)
    state.flash("success", f"Kept segment #{segment_id} as it is saved now.")


def _save_mine_as_new(seg: Segmenter, found: dict) -> None:
    """Rename conflict: keep their segment, and save the one that was renamed (its rules as listed) under the new
    name as a new segment."""
    st.session_state.pop(state.CONFLICT, None)
    try:
        made = seg.create_segment(found["mine"]["name"], found["mine"]["rules"], user=current_user())
    except SegmenterError as exc:
        state.flash("error", f"Not saved: {exc}")
        return
    state.flash("success", f"Saved #{made['id']} “{fmt.md(made['name'])}”; #{found['id']} is left as they saved it.")


def conflict_box(seg: Segmenter, s: dict) -> None:
    """A rename or delete refused because a teammate changed the segment after the list was read: who and when,
    and the ways on. (``s`` is the segment as listed now, i.e. their version.)"""
    for action in ("rename", "delete"):
        found = state.open_conflict(action, s["id"])
        if not found:
            continue
        what = (f"renamed to “{fmt.md(fmt.cut(found['mine']['name']))}”" if action == "rename" else "deleted")
        st.warning(f"Not {what}: #{s['id']} was changed by {changed_by(found)} after this list was read. Nothing "
                   "was changed; the list shows their version.")
        choices = st.container(horizontal=True, wrap=True)
        choices.button("Load their version" if action == "rename" else "Keep their version",
                       key=f"conflict_keep:{s['id']}", on_click=_keep_theirs, args=(s["id"],))
        if action == "rename":
            choices.button("Save mine as a new segment", key=f"conflict_new:{s['id']}", on_click=_save_mine_as_new,
                           args=(seg, found), help="Their segment stays; the segment as you saw it is saved under "
                           "your name.")
            choices.button("Overwrite anyway", key=f"conflict_overwrite:{s['id']}", type="primary",
                           on_click=_rename, args=(seg, s, found["mine"]["name"], found["version"]))
        else:
            choices.button("Delete anyway", key=f"conflict_delete:{s['id']}", type="primary",
                           on_click=_delete, args=(seg, s, found["version"]))


def _matches(segment: dict, text: str) -> bool:
    """Search by id, name or the rules in plain English; case and accents do not matter."""
    wanted = fmt.fold(text.strip())
    return (not wanted or wanted.lstrip("#") == str(segment["id"]) or wanted in fmt.fold(segment["name"])
            or wanted in fmt.fold(describe(segment["rules"])))


def table(segments: list[dict]) -> list[dict]:
    """Search box, sort menu and the table; returns the segments shown, in the order shown."""
    search, sort = st.columns([3, 2])
    text = search.text_input("Search segments", key="segment_search", placeholder="name, rule or #id")
    order = sort.selectbox("Sort by", list(SORTS), key="segment_sort")
    key, descending = SORTS[order]
    shown = sorted((s for s in segments if _matches(s, text)), key=key, reverse=descending)  # type: ignore[arg-type]
    st.caption(f"{len(shown):,} of {len(segments):,} segments" + (f", sorted by {order.lower()}" if shown else ""))
    if shown:
        frame = pd.DataFrame([{"id": s["id"], "name": s["name"], "rules": describe(s["rules"]),
                               "contacts": s["contacts_count"], "last changed": fmt.when(s["updated_at"]),
                               "by": s["updated_by"] or ""} for s in shown])
        # Every segment the search leaves is in the table, so a header click sorts the whole list: it may stay on.
        st.dataframe(frame, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(shown)),
                     key="segments_table", column_config={
                         "id": st.column_config.NumberColumn("#", width="small", format="%d"),
                         "name": st.column_config.TextColumn("Name", width="medium"),
                         "rules": st.column_config.TextColumn("Rules", width="large"),
                         "contacts": st.column_config.NumberColumn("Contacts now", format="localized"),
                     })
    return shown


def actions(seg: Segmenter, s: dict, me: auth.Identity, users: list[int], names: dict[int, str]) -> None:
    """What can be done with one segment, in a box keyed by its id; what ``me`` may not do is shown disabled with
    the reason. ``users``/``names``: the segments whose rules refer to this one (§9)."""
    with st.container(border=True, key=f"segment_row_{s['id']}"):
        st.markdown(f"**#{s['id']} · {fmt.md(s['name'])}**")
        st.markdown(fmt.md(describe(s["rules"])))
        by = f" by {fmt.md(s['updated_by'])}" if s["updated_by"] else ""
        st.caption(f"{fmt.count(s['contacts_count'])} contacts now · last changed {fmt.when(s['updated_at'])}{by} "
                   f"· created {fmt.when(s['created_at'])}")
        conflict_box(seg, s)
        compare.used_by(users, names)
        compare.history_chart(seg, s["id"])
        if s["contacts_count"] is None:
            why = f" ({fmt.md(s['error'])})" if s.get("error") else ""
            st.warning(f"It cannot be evaluated: its rules name a field that no longer exists{why}; open it in Build "
                       "to paste corrected rules.")
        # A wrapping row, not four columns: on a narrow page a button moves to the next line instead of being cut.
        row = st.container(horizontal=True, wrap=True, key=f"segment_actions_{s['id']}")
        if row.button("Open in Build", key=f"open:{s['id']}", icon=":material/tune:"):
            st.session_state[state.QUERY_APPLIED] = None  # open the saved version even if this one is being edited
            st.switch_page("app_pages/build.py", query_params={"segment": str(s["id"])})
        if not auth.can(me, auth.EDITOR):  # shown, but disabled with the reason
            reason = auth.why_not(me, auth.EDITOR, "changing segments")
            for label in ("Duplicate", "Rename", "Delete"):
                row.button(label, key=f"{label.lower()}:{s['id']}", disabled=True, help=reason)
            return
        row.button("Duplicate", key=f"duplicate:{s['id']}", on_click=_duplicate, args=(seg, s))
        with row.popover("Rename"):
            # A form: Enter in the box submits it, so the typed name is saved rather than dropped.
            with st.form(f"rename_form:{s['id']}", border=False):
                st.text_input("New name", s["name"], key=f"rename:{s['id']}", max_chars=MAX_NAME)
                st.form_submit_button("Save name", key=f"rename_save:{s['id']}", on_click=_rename, args=(seg, s))
        with row.popover("Delete"):
            st.write(f"Delete “{fmt.md(s['name'])}” (#{s['id']})? This cannot be undone; contacts are not affected.")
            st.button("Yes, delete it", key=f"delete:{s['id']}", type="primary", on_click=_delete, args=(seg, s))


def choose(shown: list[dict]) -> dict | None:
    """The segment to act on: picked by name or id from the ones the search left (type to narrow it)."""
    if not shown:
        return None
    by_id = {s["id"]: s for s in shown}
    picked = st.selectbox("Segment", list(by_id), key="segment_choice",
                          format_func=lambda i: f"#{i} · {fmt.cut(by_id[i]['name'])}")
    return by_id.get(picked) if picked is not None else None
