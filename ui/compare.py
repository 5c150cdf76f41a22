"""SPEC §9 in the app: the A/B split panel and "since the last record" on Build; size over time, "used by" and the
overlap of two segments on Segments. Each panel reads widgets, calls the Segmenter, renders."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from segmenter import RuleError, Segmenter, SegmenterError
from segmenter.errors import NoRecord

from . import format as fmt
from . import state
from .downloads import csv_export
from .resources import current_user

DEFAULT_PARTS = [{"part": "A", "percent": 45}, {"part": "B", "percent": 45}, {"part": "holdout", "percent": 10}]


def _in(segment_id: int, negate: bool = False) -> dict:
    return {"field": "segment", "operator": "not_in_segment" if negate else "in_segment", "value": segment_id}


# ---- Build: A/B split -------------------------------------------------------------------------------------------

def _split_source(seg: Segmenter, rules: list):
    """The saved segment (its id: parts then follow its later changes) when the rules on screen are its rules;
    else the rules on screen."""
    loaded = st.session_state[state.LOADED]
    if loaded:
        try:
            if seg.get_segment(loaded["id"])["rules"] == rules:
                return loaded["id"]
        except SegmenterError:
            pass
    return rules


def split_panel(seg: Segmenter, rules: list) -> None:
    """Parts with names and percents (45/45/10 by default), a salt, each part's count; save the parts as segments,
    export a part."""
    loaded = st.session_state[state.LOADED]
    base_name = loaded["name"] if loaded else "segment"
    st.caption("Stable random parts for A/B tests and holdouts: the same salt always splits the same way "
               "(docs/rules.md, *sample*).")
    salt = st.text_input("Salt", f"{base_name} {dt.date.today().isoformat()}", max_chars=200, key="split_salt",
                         help="Any text; keep it to reproduce this split later, change it for an independent one.")
    edited = st.data_editor(pd.DataFrame(DEFAULT_PARTS), num_rows="dynamic", hide_index=True, key="split_parts",
                            column_config={"part": st.column_config.TextColumn("Part", required=True),
                                           "percent": st.column_config.NumberColumn("Percent", min_value=1,
                                                                                    max_value=100, step=1,
                                                                                    required=True)})
    parts = [(str(r["part"]), int(r["percent"])) for r in edited.to_dict("records")
             if isinstance(r.get("part"), str) and pd.notna(r.get("percent"))]
    try:
        result = seg.split(_split_source(seg, rules), parts, salt=salt)
    except RuleError as exc:
        st.warning(f"Not split yet: {fmt.md(str(exc))}")
        return
    table = pd.DataFrame([{"part": p["part"], "contacts": p["contacts_count"]} for p in result])
    st.dataframe(table, hide_index=True, column_config={
        "contacts": st.column_config.NumberColumn("Contacts", format="localized")})
    st.session_state["split_result"] = result
    save, export = st.columns(2)
    if save.button("Save the parts as segments", key="split_save", icon=":material/call_split:", width="stretch"):
        try:
            made = [seg.create_segment(f"{base_name} – {p['part']}"[:200], p["rules"], user=current_user())
                    for p in result]
            st.success("Saved " + ", ".join(f"#{m['id']} “{fmt.md(m['name'])}”" for m in made) + ".")
        except SegmenterError as exc:
            st.error(f"Not saved: {fmt.md(str(exc))}")
    with export:
        names = [p["part"] for p in result]
        which = st.selectbox("Part to export", names, key="split_export_part", label_visibility="collapsed")
        chosen = next(p for p in result if p["part"] == which)
        st.download_button(f"Export part “{which}” as CSV", data=csv_export(seg, chosen["rules"]),
                           file_name=f"{base_name}-{which}.csv".replace(" ", "-"), mime="text/csv",
                           on_click="ignore", key="split_export", icon=":material/download:", width="stretch")


# ---- Build: since the last record -------------------------------------------------------------------------------

def _ids_csv(seg: Segmenter, ids: list[int]) -> Callable[[], bytes]:
    frozen = list(ids)

    def build() -> bytes:
        buffer = io.BytesIO()
        seg.export_ids_csv(frozen, buffer)
        return buffer.getvalue()

    return build


def changes_panel(seg: Segmenter) -> None:
    """For the saved segment open in Build: who entered and who left since its last membership record."""
    loaded = st.session_state[state.LOADED]
    if not loaded:
        return
    try:
        changes = seg.changes(loaded["id"])
    except NoRecord:
        st.caption("No membership record yet: `python -m segmenter record` makes one (docs/operating.md).")
        return
    except SegmenterError as exc:
        st.caption(f"Changes since the last record are not available: {fmt.md(str(exc))}")
        return
    entered, left = changes["entered"], changes["left"]
    st.markdown(f"**Since the last record** ({fmt.when(changes['since'])}): "
                f"**+{len(entered):,}** entered, **−{len(left):,}** left")
    a, b = st.columns(2)
    a.download_button(f"Entered ({len(entered):,}) as CSV", data=_ids_csv(seg, entered), mime="text/csv",
                      file_name=f"segment-{loaded['id']}-entered.csv", on_click="ignore", key="changes_entered",
                      disabled=not entered, width="stretch")
    b.download_button(f"Left ({len(left):,}) as CSV", data=_ids_csv(seg, left), mime="text/csv",
                      file_name=f"segment-{loaded['id']}-left.csv", on_click="ignore", key="changes_left",
                      disabled=not left, width="stretch")
    st.caption("Left: contacts that no longer match, with their current fields (erased contacts are not listed).")


# ---- Segments: size over time, used by, overlap ------------------------------------------------------------------

def history_chart(seg: Segmenter, segment_id: int) -> None:
    """A small line chart of the segment's recorded size."""
    try:
        records = seg.history(segment_id)
    except SegmenterError:
        return
    if len(records) < 2:
        st.caption("Size over time: recorded " + ("once" if records else "never") + " so far.")
        return
    data = pd.DataFrame(records)
    data["at"] = pd.to_datetime(data["at"])
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("at:T", title=None), y=alt.Y("contacts_count:Q", title="contacts"),
        tooltip=["at:T", "contacts_count:Q", "entered:Q", "left:Q"])
    st.altair_chart(chart.properties(height=120), width="stretch")


def used_by(users: list[int], names: dict[int, str]) -> None:
    if users:
        st.caption("Used by " + ", ".join(f"#{i} {fmt.md(names.get(i, ''))}" for i in users)
                   + " — it cannot be deleted while they refer to it.")


def overlap_view(seg: Segmenter, segments: list[dict]) -> None:
    """Pick two segments: A only / both / B only as a chart, and buttons that open each area in Build."""
    if len(segments) < 2:
        st.caption("Save two segments to compare them.")
        return
    ids = [s["id"] for s in segments]
    names = {s["id"]: s["name"] for s in segments}

    def label(i: int) -> str:
        return f"#{i} · {names[i]}"

    left, right = st.columns(2)
    a = left.selectbox("Segment A", ids, index=0, key="overlap_a", format_func=label)
    b = right.selectbox("Segment B", ids, index=1, key="overlap_b", format_func=label)
    try:
        o = seg.overlap(a, b)
    except SegmenterError as exc:
        st.warning(f"These segments cannot be compared: {fmt.md(str(exc))}")
        return
    data = pd.DataFrame([{"area": "A only", "contacts": o["only_a"]}, {"area": "both", "contacts": o["both"]},
                         {"area": "B only", "contacts": o["only_b"]}])
    chart = alt.Chart(data).mark_bar().encode(y=alt.Y("area:N", sort=None, title=None),
                                              x=alt.X("contacts:Q", title="contacts"), tooltip=["area", "contacts"])
    st.altair_chart(chart.properties(height=130), width="stretch")
    st.caption(f"A {o['a']:,} · B {o['b']:,} · both {o['both']:,} · either {o['either']:,} · "
               f"Jaccard {o['jaccard']:.3f}")
    areas = {"A and not B": [_in(a), _in(b, negate=True)], "both": [_in(a), _in(b)],
             "B and not A": [_in(b), _in(a, negate=True)]}
    # A wrapping row, not three columns: at 800 px a column is too narrow for "Open “A and not B” in Build".
    row = st.container(horizontal=True, wrap=True, key="overlap_open")
    for title, rules in areas.items():
        if row.button(f"Open “{title}” in Build", key=f"overlap_open:{title}", width="content"):
            st.session_state[state.QUERY_APPLIED] = None
            st.switch_page("app_pages/build.py", query_params={"rules": fmt.encode_rules(rules)})
