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


FOUND = 20  # contacts offered for one search


def _pick_label(contact: dict) -> str:
    return f"{contact['name']} <{contact['email']}>" if contact.get("name") else str(contact["email"])


def find_contact(seg: Segmenter) -> str | None:
    """A search box: part of an email or a name (case ignored); one exact email or a single match is taken at once,
    several are offered in a menu (the first 20, by id). Returns the chosen contact's email."""
    query = st.text_input("Find a contact", key="explain_search", placeholder="part of an email or a name",
                          help="Type part of an email address or of a name; case does not matter.").strip()
    if not query:
        st.caption("Type part of a contact's email or name to see which rules it passes.")
        return None
    query = query[:1_000]
    search = [{"match": "any", "rules": [{"field": "email", "operator": "contains", "value": query},
                                         {"field": "name", "operator": "contains", "value": query}]}]
    found = seg.contacts(search, limit=FOUND)
    exact = [c for c in found if c["email"] == query.lower()]
    if not found:
        st.warning(f"No contact's email or name contains “{fmt.md(fmt.cut(query))}”.")
        return None
    if exact or len(found) == 1:
        return str((exact or found)[0]["email"])
    total = seg.count(search)
    labels = {_pick_label(c): str(c["email"]) for c in found}
    picked = st.selectbox(f"{total:,} contacts match" + (f" (the first {FOUND} shown: type more to narrow)"
                                                         if total > FOUND else ""),
                          list(labels), key=f"explain_pick:{query}")
    return labels[picked] if picked else None


def _value(node: dict) -> str:
    """The contact's value beside a rule, in words."""
    if node.get("field") == "sample":
        return f"sample point {node['actual']:.2f}"
    x = node.get("actual")
    if x is None:
        return "*(empty)*"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float):
        return f"{x:,.10g}" if not float(x).is_integer() or abs(x) >= 1e15 else f"{int(x):,}"
    return f"“{fmt.md(fmt.cut(x))}”"


def explanation_lines(nodes: list[dict], depth: int = 0) -> list[str]:
    """Markdown list lines, one per rule and group, groups' members indented under them: ✅/❌, the position, the
    rule, and the contact's value (or, for a group, any/all and how many members pass)."""
    lines = []
    for node in nodes:
        mark = "✅" if node["passes"] else "❌"
        head = f"{'    ' * depth}- {mark} **{node['position']}.**"
        if "match" in node:
            passing = sum(m["passes"] for m in node["rules"])
            need = "any one" if node["match"] == "any" else "every one"
            lines.append(f"{head} a group: **{node['match']}** of these ({need} must pass) — {passing} of "
                         f"{len(node['rules'])} pass")
            lines += explanation_lines(node["rules"], depth + 1)
        else:
            beside = "" if "actual" not in node and node.get("field") != "sample" else f" · contact: {_value(node)}"
            lines.append(f"{head} {fmt.md(fmt.cut(node['rule'], 200))}{beside}")
    return lines


def explain(seg: Segmenter, rules: list) -> None:
    """Why one contact is in or out: each rule with ✅/❌ and the contact's value beside it, groups with any/all,
    their own result and their members indented (the core's ``Segmenter.explain``)."""
    email = find_contact(seg)
    if email is None:
        return
    try:
        answer = seg.explain(rules, email)
    except ContactError as exc:  # erased between the search and now
        message = str(exc)
        st.warning(message[:1].upper() + message[1:])
        return
    who = fmt.md(answer["contact"]["email"])
    failed = [r["position"] for r in answer["rules"] if not r["passes"]]
    if answer["matches"]:
        st.success(f"{who} is in this segment: it passes every rule." if answer["rules"]
                   else f"{who} is in this segment: with no rules, every contact is.")
    else:
        st.warning(f"{who} is not in this segment: it fails rule {', '.join(failed)}.")
    if answer["rules"]:
        st.markdown("\n".join(explanation_lines(answer["rules"])))
    with st.expander("The contact's fields"):
        st.json(answer["contact"])
