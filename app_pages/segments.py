"""Segments: every saved segment with its rules in plain English and a live count; open, duplicate, rename and
delete; definitions out and in as JSON."""
from __future__ import annotations

import streamlit as st

from segmenter import SegmenterError
from segmenter.rules import MAX_NAME, describe
from ui import auth, compare, state
from ui import format as fmt
from ui.downloads import definitions_json, read_definitions
from ui.resources import current_user, get_segmenter

COPY = " (copy)"  # appended to a duplicated segment's name, which is cut to fit MAX_NAME

seg = get_segmenter()
me = auth.identity()
state.init()
st.title("Saved segments")
st.caption("Everyone on this database sees the same segments. Counts are computed now, from the current contacts.")


def _duplicate(segment: dict) -> None:
    name = segment["name"][:MAX_NAME - len(COPY)] + COPY
    try:
        copy = seg.create_segment(name, segment["rules"], user=current_user())
        state.flash("success", f"Duplicated as #{copy['id']} “{fmt.md(copy['name'])}”.")
    except SegmenterError as exc:
        state.flash("error", f"Not duplicated: {exc}")


def _rename(segment_id: int) -> None:
    try:
        renamed = seg.update_segment(segment_id, name=st.session_state[f"rename:{segment_id}"], user=current_user())
    except SegmenterError as exc:
        state.flash("error", f"Not renamed: {exc}")
        return
    if (st.session_state[state.LOADED] or {}).get("id") == segment_id:
        st.session_state[state.LOADED] = {"id": segment_id, "name": renamed["name"]}
    state.flash("success", f"Renamed #{segment_id} to “{fmt.md(renamed['name'])}”.")


def _delete(segment: dict) -> None:
    try:
        seg.delete_segment(segment["id"])
    except SegmenterError as exc:
        state.flash("error", f"Not deleted: {exc}")
        return
    if (st.session_state[state.LOADED] or {}).get("id") == segment["id"]:
        st.session_state[state.LOADED] = None  # Build keeps the rules, as a new unsaved segment
    state.flash("success", f"Deleted #{segment['id']} “{fmt.md(segment['name'])}”.")


def segment_card(s: dict, users: list[int], names: dict[int, str]) -> None:
    with st.container(border=True):
        text, number = st.columns([5, 1])
        text.markdown(f"**#{s['id']} · {fmt.md(s['name'])}**")
        text.markdown(fmt.md(describe(s["rules"])))
        by = f" by {fmt.md(s['updated_by'])}" if s["updated_by"] else ""
        text.caption(f"Last changed {fmt.when(s['updated_at'])}{by} · created {fmt.when(s['created_at'])}")
        number.metric("Contacts", fmt.count(s["contacts_count"]))
        compare.used_by(users, names)
        compare.history_chart(seg, s["id"])
        if s["contacts_count"] is None:
            why = f" ({fmt.md(s['error'])})" if s.get("error") else ""
            st.warning(f"It cannot be evaluated: its rules name a field that no longer exists{why}; open it in Build "
                       "to paste corrected rules.")
        open_, copy, rename, delete = st.columns(4)
        if open_.button("Open in Build", key=f"open:{s['id']}", icon=":material/tune:", width="stretch"):
            st.session_state[state.QUERY_APPLIED] = None  # open the saved version even if this one is being edited
            st.switch_page("app_pages/build.py", query_params={"segment": str(s["id"])})
        if not auth.can(me, auth.EDITOR):  # shown, but disabled with the reason
            reason = auth.why_not(me, auth.EDITOR, "changing segments")
            for column, label in ((copy, "Duplicate"), (rename, "Rename"), (delete, "Delete")):
                column.button(label, key=f"{label.lower()}:{s['id']}", width="stretch", disabled=True, help=reason)
            return
        copy.button("Duplicate", key=f"duplicate:{s['id']}", on_click=_duplicate, args=(s,), width="stretch")
        with rename.popover("Rename", width="stretch"):
            st.text_input("New name", s["name"], key=f"rename:{s['id']}", max_chars=MAX_NAME)
            st.button("Save name", key=f"rename_save:{s['id']}", on_click=_rename, args=(s["id"],))
        with delete.popover("Delete", width="stretch"):
            st.write(f"Delete segment #{s['id']}? This cannot be undone; contacts are not affected.")
            st.button("Yes, delete it", key=f"delete:{s['id']}", type="primary", on_click=_delete, args=(s,))


def import_definitions(uploaded) -> None:
    try:
        items = read_definitions(fmt.parse_json(uploaded.getvalue().decode("utf-8-sig")))
    except (ValueError, UnicodeDecodeError) as exc:
        st.error(f"{uploaded.name} was not imported: {exc}")
        return
    try:  # all or nothing: in_segment ids within the file are mapped to the segments it creates
        made = seg.import_definitions(items)
    except SegmenterError as exc:
        st.error(f"{uploaded.name} was not imported: {fmt.md(exc)}")
        return
    for m in made:
        st.success(f"Created #{m['id']} “{fmt.md(m['name'])}” ({fmt.count(m['contacts_count'])} contacts).")


state.show_flash()
listing = st.container()  # filled last, so segments imported below are listed in the same run

st.subheader("Definitions as JSON")
left, right = st.columns(2, gap="large")
left.download_button("Export all definitions", lambda: definitions_json(seg.list_segments()), file_name="segments.json",
                     mime="application/json", on_click="ignore", key="export_definitions")
left.caption("Ids, names and rules: import them into another database, or keep them as a backup. Segments that "
             "refer to each other (in_segment) are linked to the imported copies.")
if auth.can(me, auth.ADMIN):
    with right.form("import_definitions", clear_on_submit=True, border=False):
        upload = st.file_uploader("Import definitions (JSON)", type=["json"], key="definitions_file")
        if st.form_submit_button("Import") and upload is not None:
            import_definitions(upload)
else:
    right.caption(auth.why_not(me, auth.ADMIN, "importing segment definitions"))

segments = seg.list_segments()
with listing:
    if not segments:
        st.info("No saved segments yet: build one on the Build page and save it, or import definitions below.")
    users = seg.segment_users()
    names = {s["id"]: s["name"] for s in segments}
    for segment in segments:
        segment_card(segment, users.get(segment["id"], []), names)
    if segments:
        with st.expander("Compare two segments (overlap)", expanded=False):
            compare.overlap_view(seg, segments)
