"""Segmenter's Streamlit app: page config, the sign-in gate, the shared sidebar and the router.
Run: ``python -m ui`` (ui/__main__.py: this app with the core loaded before the first session) or
``streamlit run app.py``."""
from __future__ import annotations

import streamlit as st

from ui import auth
from ui import format as fmt
from ui.resources import backend_box, get_segmenter

# "auto" with a width: Streamlit collapses the sidebar by itself only at 768 px wide or less (a fixed breakpoint);
# above that it stays open, so it is kept narrow (240 px, not 300) and the pages' rows wrap instead of being cut.
SIDEBAR_PX = 240
st.set_page_config(page_title="Segmenter", page_icon="🎯", layout="wide", initial_sidebar_state=SIDEBAR_PX)

me = auth.identity()  # with [auth]: sign in and be on the allowed list, or the run stops here, before any data
pages = [
    st.Page("app_pages/build.py", title="Build", icon=":material/tune:", default=True),
    st.Page("app_pages/segments.py", title="Segments", icon=":material/bookmarks:"),
    st.Page("app_pages/contacts.py", title="Contacts", icon=":material/contacts:"),
]
if auth.can(me, auth.ADMIN):
    pages.append(st.Page("app_pages/audit.py", title="Audit", icon=":material/policy:"))
router = st.navigation(pages)

seg = get_segmenter()
with st.sidebar:
    st.caption("Database in use")
    # Inline code, not st.code: a code block makes the browser fetch a 1.5 MB highlighter before the first page shows.
    st.caption(fmt.code_span(seg.safe_url))
    st.metric("Contacts", fmt.count(seg.total_contacts()))
    backend_box(seg)
    auth.account_box(me)

router.run()
