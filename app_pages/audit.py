"""Audit (admins only): who exported, imported or erased what, when, and how many rows (SPEC §10)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from segmenter import PermissionDenied
from ui.resources import get_segmenter

seg = get_segmenter()
st.title("Audit")
st.caption("Every export (app, CLI, HTTP, Python), contact import and erasure, newest first. Erasures record how "
           "many contacts, never whom. How long entries are kept: docs/operating.md.")
limit = st.selectbox("Show the newest", [100, 500, 2_000, 10_000], key="audit_limit",
                     format_func=lambda n: f"{n:,} entries")
try:
    entries = seg.audit_log(limit)
except PermissionDenied as exc:  # the page is not in the menu for others; a deep link still lands here
    st.error(f"The audit log is for admins: {exc}.")
    st.stop()
if not entries:
    st.info("Nothing recorded yet: exports, imports and erasures appear here.")
    st.stop()
frame = pd.DataFrame(entries)
frame["what"] = [f"segment #{e['segment_id']}" + (f" v{e['segment_version']}" if e["segment_version"] else "")
                 if e["segment_id"] is not None else ("rules " + str(e["rules"]) if e["rules"] is not None else "")
                 for e in entries]
st.dataframe(frame[["at", "who", "via", "action", "what", "file_name", "rows"]], hide_index=True, width="stretch",
             column_config={"rows": st.column_config.NumberColumn("rows", format="localized"),
                            "file_name": "file"})
