"""Build: make a segment's rules with widgets and see what they select, live; save, export, share, explain."""
from __future__ import annotations

import streamlit as st

from segmenter import RuleError
from ui import compare, insight, panels, state
from ui import format as fmt
from ui.resources import get_segmenter
from ui.rule_row import add_group, add_rule, edit_rules

SIDE_BY_SIDE_PX = 420  # Save and Export sit side by side when the page is at least twice as wide

seg = get_segmenter()
state.init()
panels.apply_link(seg)

loaded = st.session_state[state.LOADED]
st.title("Build a segment")
st.caption(f"Editing saved segment #{loaded['id']}: {fmt.md(loaded['name'])}" if loaded
           else "A new segment: contacts that match all of the rules below.")
panels.offer_demo(seg)


def _clear() -> None:
    state.load([], None)
    st.session_state[state.QUERY_APPLIED] = None
    st.query_params.clear()


TABS = ["Preview", "Funnel", "Breakdown", "Explain a contact", "A/B split"]
TAB_KEY = "build_tab"
JSON_KEY = "rules_json_open"  # the open tab's label; tests open one with session_state[TAB_KEY] = label


@st.fragment
def builder() -> None:
    """Everything that depends on the rules: editing one reruns only this, not the page."""
    catalogue = seg.catalogue()
    # The live count sits above the rules, so it stays in sight while a long list of rules is edited (filled below,
    # once the rules are read).
    counts = st.container(key="live_count")
    st.subheader("Rules")
    st.caption("A contact is in the segment when it matches every rule; a group can match any of its rules.")
    rules, waiting = edit_rules(catalogue, seg.url)
    encoded = fmt.encode_rules(rules)
    state.sync_address(rules, encoded if len(encoded) <= fmt.MAX_LINK_CHARS else None)
    with st.container(horizontal=True, wrap=True, key="rule_buttons"):  # wraps on a narrow page, never cut
        st.button("Add rule", icon=":material/add:", key="add_rule", on_click=add_rule, args=(catalogue,))
        st.button("Add group (any / all)", icon=":material/add:", key="add_group", on_click=add_group,
                  args=(catalogue,))
        st.button("Start a new segment", key="clear_rules", on_click=_clear)

    total = seg.total_contacts()
    try:
        n = seg.count(rules)
    except RuleError as exc:  # the rules together break a limit (e.g. more than 100 rules)
        st.error(f"These rules cannot be evaluated: {exc}")
        return
    with counts:
        if state.is_edited(rules, waiting):
            st.caption(f":material/edit: **edited — not saved**: segment #{st.session_state[state.LOADED]['id']} as "
                       "saved differs from what is on screen.")
        panels.headline(n, total, waiting)
    compare.changes_panel(seg)
    # Only the open tab's work runs (and reaches the browser): a first load draws the count and the preview, not four
    # charts and tables nobody looks at yet. The preview always runs: the export below follows its columns and order.
    preview, funnel, chart, why, split = st.tabs(TABS, key=TAB_KEY, on_change="rerun")
    with preview:
        listing = panels.preview(seg, rules, n, catalogue)
    if funnel.open:
        with funnel:
            panels.funnel(seg, rules, total)
    if chart.open:
        with chart:
            insight.breakdown(seg, rules, catalogue)
    if why.open:
        with why:
            insight.explain(seg, rules)
    if split.open:
        with split:
            compare.split_panel(seg, rules)

    st.divider()
    # Side by side where there is room, one under the other on a narrow page (a wrapping row, not columns, which
    # would squeeze the buttons until their labels are cut).
    with st.container(horizontal=True, wrap=True, gap="large", key="save_and_export"):
        save, out = st.container(width=SIDE_BY_SIDE_PX), st.container(width=SIDE_BY_SIDE_PX)
    with save:
        st.subheader("Save")
        panels.save(seg, rules, waiting)
    with out:
        st.subheader("Export and share")
        panels.export(seg, rules, n, listing)
        panels.share(rules)
    # Run only when opened: its code block needs a 1.5 MB highlighter in the browser, which would delay first load.
    as_json = st.expander("Rules as JSON (view, copy, paste)", key=JSON_KEY, on_change="rerun")
    if as_json.open:
        with as_json:
            panels.rules_json(seg, rules)


builder()
