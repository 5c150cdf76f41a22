"""Segments: every saved segment with its rules in plain English and a live count; open, duplicate, rename and
delete; definitions out and in as JSON."""
from __future__ import annotations

import streamlit as st

from segmenter import SegmenterError
from ui import auth, compare, segment_list, state
from ui import format as fmt
from ui.downloads import definitions_json, read_definitions
from ui.resources import get_segmenter

seg = get_segmenter()
me = auth.identity()
state.init()
st.title("Saved segments")
st.caption("Everyone on this database sees the same segments. Counts are computed now, from the current contacts.")


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
    else:
        shown = segment_list.table(segments)
        chosen = segment_list.choose(shown)
        if chosen:
            users = seg.segment_users()
            names = {s["id"]: s["name"] for s in segments}
            segment_list.actions(seg, chosen, me, users.get(chosen["id"], []), names)
        with st.expander("Compare two segments (overlap)", expanded=False):
            compare.overlap_view(seg, segments)
