"""The Build page's insight panels: the breakdown chart of the matching contacts and "explain a contact".
Each reads widgets, calls the Segmenter (the counting and the explaining happen in the core), renders."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from segmenter import ContactError, Segmenter
from segmenter.breakdown import EMPTY, OTHER
from segmenter.fields import Catalogue

from . import format as fmt
from .resources import segmenter_for

BREAKABLE = ("text", "number", "datetime", "boolean")


TOP = 10  # text values shown before "(other)"; also the most number ranges
NEVER = ("id", "email")  # one value per contact by definition
_LABEL_COLOUR, _BAR, _REST = "#31333f", "#4c78a8", "#a0a4ad"


@st.cache_data(ttl=60, show_spinner=False)
def one_per_contact(url: str) -> list[str]:
    """Text fields whose values hardly repeat (a name, a company: more distinct values than half the contacts that
    have one, and more than ``TOP``): a breakdown of them is a list of ones. Shared data, a minute old at most —
    it only decides which fields the menu offers."""
    seg = segmenter_for(url)
    out = []
    for f in seg.fields():
        if f["type"] != "text" or f["name"] in NEVER:
            continue
        rows = seg.breakdown([], f["name"], limit=1)
        values = [r for r in rows if r["value"] != EMPTY or "values" in r]
        filled = sum(r["count"] for r in values)
        distinct = sum(r.get("values", 1) for r in values)
        if distinct > max(TOP, filled / 2):
            out.append(f["name"])
    return out


def offered(seg: Segmenter, catalogue: Catalogue) -> list[str]:
    """The fields a breakdown is offered for: every text, number, datetime and boolean field but the ids, emails
    and text fields with (nearly) one value per contact."""
    unique = set(one_per_contact(seg.url))
    return [f.name for f in catalogue if f.type in BREAKABLE and f.name not in NEVER
            and f.name not in unique]


def _preference(names: list[str], catalogue: Catalogue) -> list[str]:
    """Status first, then the other text and boolean fields, then dates, then numbers (catalogue order within)."""
    rank = {"text": 1, "boolean": 1, "datetime": 2, "number": 3}
    return sorted(names, key=lambda n: (0 if n == "status" else rank[catalogue[n].type]))


def default_field(seg: Segmenter, rules: list, names: list[str], catalogue: Catalogue) -> tuple[str, list[dict]]:
    """The first field, by preference, that splits the matching contacts into at least two bars — not one the rules
    fix to a single value — with its rows (so they are counted once)."""
    ordered = _preference(names, catalogue)
    for name in ordered:
        rows = seg.breakdown(rules, name, limit=TOP)
        if len(rows) >= 2:
            return name, rows
    return ordered[0], seg.breakdown(rules, ordered[0], limit=TOP)


def _choose() -> None:
    st.session_state["breakdown_chosen"] = st.session_state["breakdown_field"]


def _period(label: str) -> str:
    """The period of a datetime breakdown's labels (segmenter/breakdown.py: day, week of, month, year, years)."""
    if label.startswith("week of "):
        return "week"
    return {10: "day", 7: "month", 4: "year"}.get(len(label), "years")


def caption(field_type: str, rows: list[dict]) -> str:
    """What the bars are, in words: the top values and what "(other)" holds, the ranges or periods, the empties,
    and that every matching contact is counted once."""
    total = sum(r["count"] for r in rows)
    parts = []
    other = next((r for r in rows if "values" in r), None)
    if field_type == "text":
        shown = len([r for r in rows if r["value"] != EMPTY and r is not other])
        parts.append(f"The {shown} most common values" + (
            f"; **(other)** is the remaining {other['values']:,} values ({other['count']:,} contacts)." if other
            else " (all of them)."))
    elif field_type == "number":
        parts.append("Ranges on round edges; each holds its lower edge, not its upper (200–400 is 200 ≤ x < 400).")
    elif field_type == "datetime" and rows and rows[0]["value"] != EMPTY:
        parts.append(f"One bar per {_period(rows[0]['value'])} (UTC), from the first to the last; "
                     "periods with no contact show 0.")
    empty = next((r["count"] for r in reversed(rows) if r["value"] == EMPTY and "values" not in r), 0)
    if empty:
        parts.append(f"**(empty)**: {empty:,} contacts with no value.")
    parts.append(f"Every matching contact is counted once: {total:,}.")
    return " ".join(parts)


def breakdown(seg: Segmenter, rules: list, catalogue: Catalogue) -> None:
    """The matching contacts by a field, counted in the core (``Segmenter.breakdown``): bars labelled with their
    counts, the top 10 values then "(other)", ranges on round edges, periods by the span of the dates."""
    names = offered(seg, catalogue)
    if not names:
        st.caption("No field to break down by.")
        return
    chosen = st.session_state.get("breakdown_chosen")
    if chosen in names:
        field, rows = chosen, seg.breakdown(rules, chosen, limit=TOP)
    else:  # not chosen yet (or gone): a field that tells something about these contacts
        field, rows = default_field(seg, rules, names, catalogue)
    st.session_state["breakdown_field"] = field
    st.columns([1, 2])[0].selectbox("Break down by", names, key="breakdown_field", on_change=_choose,
                                    format_func=lambda n: f"{n} · {catalogue[n].type}",
                                    help="Fields with one value per contact (email, name, …) are not offered.")
    if not rows:
        st.caption("No contact matches: nothing to chart.")
        return
    data = pd.DataFrame({"value": [r["value"] for r in rows], "count": [r["count"] for r in rows]})
    rest = alt.FieldOneOfPredicate(field="value", oneOf=[OTHER, EMPTY])
    colour = alt.condition(rest, alt.value(_REST), alt.value(_BAR))
    base = alt.Chart(data)
    if catalogue[field].type == "datetime":
        x = alt.X("value:O", title=_period(rows[0]["value"]) if rows[0]["value"] != EMPTY else field, sort=None)
        y = alt.Y("count:Q", title="contacts")
        bars = base.mark_bar().encode(x=x, y=y, color=colour, tooltip=["value", "count"])
        labels = base.mark_text(dy=-6, color=_LABEL_COLOUR, fontSize=10).encode(x=x, y=y,
                                                                               text=alt.Text("count:Q", format=","))
    else:
        y = alt.Y("value:N", title=field, sort=None)
        x = alt.X("count:Q", title="contacts")
        bars = base.mark_bar().encode(y=y, x=x, color=colour, tooltip=["value", "count"])
        labels = base.mark_text(align="left", dx=4, color=_LABEL_COLOUR).encode(y=y, x=x,
                                                                                text=alt.Text("count:Q", format=","))
    height = max(200, min(440, 40 + 30 * len(data)))
    st.altair_chart((bars + labels).properties(height=height), width="stretch")
    st.caption(caption(catalogue[field].type, rows))


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
