"""Segmenter's Streamlit app: page config, the shared sidebar and the router. Run: ``streamlit run app.py``."""
from __future__ import annotations

import streamlit as st

from ui import format as fmt
from ui.resources import account_box, get_segmenter

st.set_page_config(page_title="Segmenter", page_icon="🎯", layout="wide")

router = st.navigation([
    st.Page("app_pages/build.py", title="Build", icon=":material/tune:", default=True),
    st.Page("app_pages/segments.py", title="Segments", icon=":material/bookmarks:"),
    st.Page("app_pages/contacts.py", title="Contacts", icon=":material/contacts:"),
])

seg = get_segmenter()
with st.sidebar:
    st.caption("Database in use")
    st.code(seg.safe_url, language=None, wrap_lines=True)
    st.metric("Contacts", fmt.count(seg.total_contacts()))
    account_box()

router.run()
