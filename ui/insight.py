"""The Build page's insight panels: the breakdown chart of the matching contacts and "explain a contact".
Each reads widgets, calls the Segmenter (the counting and the explaining happen in the core), renders."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from segmenter import ContactError, Segmenter
from segmenter.fields import Catalogue

from . import format as fmt


def breakdown(seg: Segmenter, rules: list, catalogue: Catalogue) -> None:
    """A small chart of the matching contacts by status, signup month or a chosen field (aggregated in the core)."""
    names = [n for n in catalogue.names if n not in ("id", "email")]
    default = names.index("status") if "status" in names else 0
    field = st.columns([1, 2])[0].selectbox("Break down by", names, index=default, key="breakdown_field",
                         format_func=lambda n: "signups per month (created_at)" if n == "created_at" else n)
    data = pd.DataFrame(seg.breakdown(rules, field, limit=10), columns=["value", "count"])
    if data.empty:
        st.caption("Nothing to chart.")
        return
    if catalogue[field].type == "datetime":
        chart = alt.Chart(data).mark_bar().encode(x=alt.X("value:O", title="month", sort=None),
                                                  y=alt.Y("count:Q", title="contacts"), tooltip=["value", "count"])
    else:
        chart = alt.Chart(data).mark_bar().encode(y=alt.Y("value:N", title=field, sort=None),
                                                  x=alt.X("count:Q", title="contacts"), tooltip=["value", "count"])
    st.altair_chart(chart.properties(height=max(200, min(440, 40 + 30 * len(data)))), width="stretch")


def explain(seg: Segmenter, rules: list) -> None:
    """Why one contact is in or out: each top-level rule with pass or fail."""
    email = st.text_input("Contact email", key="explain_email", placeholder="alice@example.com")
    if not email.strip():
        st.caption("Type an email to see which rules it passes.")
        return
    try:
        answer = seg.explain(rules, email)
    except ContactError as exc:
        message = str(exc)
        st.warning(message[:1].upper() + message[1:])
        return
    who = fmt.md(answer["contact"]["email"])
    failed = [r["position"] for r in answer["rules"] if not r["passes"]]
    if answer["matches"]:
        st.success(f"{who} is in this segment: it passes every rule.")
    else:
        st.warning(f"{who} is not in this segment: it fails rule {', '.join(failed)}.")
    if answer["rules"]:
        st.dataframe(pd.DataFrame(answer["rules"]), hide_index=True, width="stretch", column_config={
            "position": st.column_config.TextColumn("#", width="small"), "rule": "rule",
            "passes": st.column_config.CheckboxColumn("passes")})
    with st.expander("The contact's fields"):
        st.json(answer["contact"])
