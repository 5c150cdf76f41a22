"""The rule editor: one row of widgets per rule (field, operator from the registry for the field's type, and a
value widget chosen by the operator's value kind), groups of rows, and the check of each row beside it.
Rows stay plain data; what a rule means is the core's business (segmenter.rules / segmenter.operators)."""
from __future__ import annotations

import json
import re
from typing import Any, Literal

import streamlit as st

from segmenter.errors import RuleError
from segmenter.fields import PSEUDO_FIELDS, Catalogue, Field
from segmenter.operators import MAX_DAYS, OPERATORS, operators_for
from segmenter.rules import describe, validate_rules
from segmenter.values import is_date_text

from . import state
from .format import cut, md
from .resources import segment_choices, segmenter_for, suggestions

DEFAULT_FIELD = "status"
DEFAULT_DAYS = 30


# ---- editing the draft (widget callbacks) -----------------------------------------------------------------------

def _blank_row(catalogue: Catalogue) -> dict:
    field = DEFAULT_FIELD if DEFAULT_FIELD in catalogue else catalogue.names[0]
    return {"key": state.new_key(), "field": field, "operator": operators_for(catalogue[field].type)[0], "value": None}


def add_rule(catalogue: Catalogue, group_key: str | None = None) -> None:
    items = st.session_state[state.DRAFT]
    target = next((g["rules"] for g in items if g["key"] == group_key), items) if group_key else items
    target.append(_blank_row(catalogue))


def add_group(catalogue: Catalogue) -> None:
    st.session_state[state.DRAFT].append({"key": state.new_key("g"), "match": "any", "rules": [_blank_row(catalogue)]})


def remove(key: str) -> None:
    items = st.session_state[state.DRAFT]
    items[:] = [i for i in items if i["key"] != key]
    for group in (i for i in items if "rules" in i):
        group["rules"][:] = [m for m in group["rules"] if m["key"] != key]


# ---- value widgets, one per value kind ------------------------------------------------------------------------

def _number(v: Any) -> float | int | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _whole(v: float | int | None) -> float | int | None:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _is_datetime_text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip()) and not is_date_text(v.strip())


def _pair(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) and len(v) == 2 else [None, None]


def _when_input(label: str, v: Any, key: str) -> str | None:
    """A date (or datetime) typed as ISO text. A text box applies the value on Enter; Streamlit's date picker
    applied a typed date only when focus left the widget, so Enter seemed to do nothing. The core checks the text
    and says what is wrong beside the rule."""
    placeholder = "2026-01-05T10:00:00Z" if _is_datetime_text(v) else "YYYY-MM-DD"
    text = st.text_input(label, v if isinstance(v, str) else "", key=key + ":text", label_visibility="collapsed",
                         placeholder=placeholder, help="A date as YYYY-MM-DD, or a date and time such as "
                         "2026-01-05T10:00:00Z; press Enter to apply it.")
    return text.strip() or None


def _value_widget(kind: str, v: Any, key: str, field: str, url: str) -> Any:
    """The widget for one value kind; returns the rule value, or None while nothing is entered."""
    hidden: Literal["collapsed"] = "collapsed"
    if kind == "none":
        st.caption("no value needed")
        return None
    if kind == "string":
        text = st.text_input("Value", v if isinstance(v, str) else "", key=key, label_visibility=hidden,
                             placeholder="value")
        return text or None
    if kind == "string_list":
        if isinstance(v, list):
            current = [x for x in v if isinstance(x, str)]
        else:
            current = [v] if isinstance(v, str) and v else []
        options = list(dict.fromkeys(current + suggestions(url, field)))
        # select_all=False: with the bulk action on, Enter after typing `active` took "Select 2 matches" and added
        # `inactive` too. Without it, the exact match is the first entry, so Enter adds exactly the typed value.
        chosen = st.multiselect("Values", options, default=current, key=key, accept_new_options=True,
                                select_all=False, filter_mode="fuzzy", label_visibility=hidden,
                                placeholder="pick or type values")
        return chosen or None
    if kind == "segment_id":
        return _segment_picker(v, key, url)
    if kind == "sample_range":
        return _sample_inputs(v, key)
    if kind in ("number", "days"):
        n: float | int | None
        if kind == "days":
            # No min/max on the box: a browser refuses an out-of-range number silently (red box, old count). The
            # core checks the range, so the rule waits with its reason beside it.
            days = _number(v)
            n = st.number_input("Value", value=int(days) if days is not None else DEFAULT_DAYS, key=key,
                                label_visibility=hidden, placeholder="days", step=1,
                                help=f"whole days, 1 to {MAX_DAYS:,}")
        else:
            n = st.number_input("Value", value=_number(v), key=key, label_visibility=hidden, placeholder="number")
        return _whole(n)
    a, b = _pair(v)
    left, right = st.columns(2)
    if kind == "number_pair":
        with left:
            a = st.number_input("From", value=_number(a), key=key + ":a", label_visibility=hidden, placeholder="from")
        with right:
            b = st.number_input("To", value=_number(b), key=key + ":b", label_visibility=hidden, placeholder="to")
        return None if a is None or b is None else [_whole(a), _whole(b)]
    if kind == "when_pair":
        with left:
            a = _when_input("From", a, key + ":a")
        with right:
            b = _when_input("To", b, key + ":b")
        return None if a is None or b is None else [a, b]
    return _when_input("Value", v, key)  # when, date


def _segment_picker(v: Any, key: str, url: str) -> int | None:
    """Saved segments by name (``#id · name``); the rule stores the id."""
    choices = {c["id"]: c["name"] for c in segment_choices(url)}
    ids = list(choices)
    if isinstance(v, int) and v not in choices:
        ids.insert(0, v)  # a deleted or unknown id stays visible, and the check beside the rule says why
    if not ids:
        st.caption("No saved segments yet: save one first.")
        return None
    picked = st.selectbox("Segment", ids, index=ids.index(v) if v in ids else None, key=key,
                          label_visibility="collapsed", placeholder="pick a saved segment",
                          format_func=lambda i: f"#{i} · {choices.get(i, '(not found)')}")
    return picked


def _sample_inputs(v: Any, key: str) -> dict | None:
    """Salt, from % and to %: a stable random slice of the contacts (SPEC §9)."""
    v = v if isinstance(v, dict) else {}
    salt = st.text_input("Salt", v.get("salt") or "", key=key + ":salt", placeholder="salt, e.g. spring-2026",
                         label_visibility="collapsed")
    left, right = st.columns(2)
    start = left.number_input("From %", 0.0, 100.0, float(_number(v.get("from")) or 0.0), key=key + ":from",
                              label_visibility="collapsed")
    stop = right.number_input("To %", 0.0, 100.0, float(_number(v.get("to")) or 10.0), key=key + ":to",
                              label_visibility="collapsed")
    if not salt:
        return None
    return {"salt": salt, "from": _whole(start), "to": _whole(stop)}


# ---- rows and groups --------------------------------------------------------------------------------------------

def _index(options: list, value: Any) -> int:
    return options.index(value) if value in options else 0


def field_of(catalogue: Catalogue, name: str) -> Field:
    """A field of the catalogue or a pseudo-field (segment, sample)."""
    return catalogue.get(name) or PSEUDO_FIELDS[name]


_CORE_PREFIX = re.compile(r"^operator '[^']+' on \w+ field '[^']+' ")


def _plain(problem: str, rule: dict) -> str:
    """A core message about one rule, in the app's words: the operator's label, the widget's names (*from*,
    *to*, days), and long values cut."""
    op = OPERATORS.get(rule.get("operator") or "")
    label = f"*{op.label}*" if op else "this rule"
    value = rule.get("value")
    if "A <= B" in problem:
        return f"{label}: *from* must not be more than *to*."
    if "whole number of days" in problem:
        return f"{label}: the number of days must be a whole number from 1 to {MAX_DAYS:,} (not {cut(value)})."
    if _CORE_PREFIX.match(problem):
        return f"{label}: {cut(_CORE_PREFIX.sub('', problem), 200)}"
    return cut(problem, 200)


def _check(rule: dict, catalogue: Catalogue, url: str | None = None) -> str | None:
    """The core's verdict on one rule, without its position (the message sits beside the rule), in plain words."""
    try:
        if url is not None and '"segment"' in json.dumps(rule):  # refers to saved segments: resolve them
            segmenter_for(url).validate([rule])
        else:
            validate_rules([rule], catalogue)
    except RuleError as exc:
        return "; ".join(_plain(p.removeprefix("rule 1: "), rule) for p in exc.problems)
    return None


def space_note(value: Any) -> str | None:
    """Rules keep spaces exactly (SPEC), so `"active "` matches nothing that is `active`: say so beside the rule."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str) or v == v.strip():
            continue
        shown = cut(repr(v))
        if not v.strip():
            return f"The value {shown} is only spaces; it matches only values that are exactly those spaces."
        where = "starts and ends" if v[0].isspace() and v[-1].isspace() else (
            "starts" if v[0].isspace() else "ends")
        return f"The value {shown} {where} with a space; spaces count, so it matches only values that do too."
    return None


def rule_row(row: dict, catalogue: Catalogue, url: str) -> dict | None:
    """Draw one rule and write the user's choices back into ``row``; returns the rule when it is complete and valid."""
    k = row["key"]
    # The remove button keeps its own width (a fourth column shrank to 1 px on a narrow page); the rest share the row.
    line = st.container(horizontal=True, vertical_alignment="top", gap="small")
    with line:
        c_field, c_op, c_value = st.container(width="stretch").columns([3, 3, 5], vertical_alignment="top")
    c_del = line
    names = catalogue.names + list(PSEUDO_FIELDS)
    field = c_field.selectbox("Field", names, index=_index(names, row["field"]), key=f"{k}:field",
                              label_visibility="collapsed", format_func=lambda n: _field_label(catalogue, n))
    ftype = field_of(catalogue, field).type
    ops = operators_for(ftype)
    op = c_op.selectbox("Operator", ops, index=_index(ops, row["operator"]), key=f"{k}:op:{ftype}",
                        label_visibility="collapsed", format_func=lambda o: OPERATORS[o].label)
    kind = OPERATORS[op].forms[ftype].value.key
    with c_value:
        # Keyed by field and value kind: a new field starts with no value (created_at "last 7 days" must not
        # become "mrr is 7"), while a change of operator within a field keeps what was typed.
        old = row["value"] if field == row["field"] else None
        value = _value_widget(kind, old, f"{k}:v:{field}:{kind}", field, url)
    c_del.button("✕", key=f"{k}:del", on_click=remove, args=(k,), help="Remove this rule")
    row.update(field=field, operator=op, value=value)
    if kind != "none" and value is None:
        st.caption(":material/hourglass_empty: Enter a value — this rule is not applied yet.")
        return None
    problem = _check(state.row_rule(row), catalogue, url)
    if problem:
        st.error(problem, icon="⚠️")
        return None
    note = space_note(value)
    if note:
        st.caption(f":material/space_bar: {md(note)}")
    return state.row_rule(row)


def _field_label(catalogue: Catalogue, name: str) -> str:
    if name == "segment":
        return "segment · in a saved segment"
    if name == "sample":
        return "sample · random sample (A/B)"
    f = catalogue[name]
    return f"{name} · {f.type}" + (" · custom" if f.custom else "")


def _raw_member(item: dict, catalogue: Catalogue, url: str) -> dict | None:
    """A group nested deeper than the editor goes (from pasted JSON): shown in plain English, removable."""
    text, button = st.columns([11, 1])
    text.markdown("↳ " + md(describe([item["raw"]])))
    button.button("✕", key=f"{item['key']}:del", on_click=remove, args=(item["key"],), help="Remove this group")
    problem = _check(item["raw"], catalogue, url)
    if problem:
        st.error(problem, icon="⚠️")
        return None
    return item["raw"]


def group_box(group: dict, catalogue: Catalogue, url: str) -> tuple[dict | None, int]:
    """A bordered box: "match any/all of" and its rows; returns (the group when at least one member applies,
    how many of its rows are waiting)."""
    g = group["key"]
    with st.container(border=True):
        head, tail = st.columns([9, 3], vertical_alignment="center")
        group["match"] = head.radio("Group matches", ["any", "all"], index=_index(["any", "all"], group["match"]),
                                    key=f"{g}:match", horizontal=True,
                                    format_func=lambda m: "any of these (OR)" if m == "any" else "all of these (AND)")
        tail.button("Remove group", key=f"{g}:del", on_click=remove, args=(g,))
        members = [(_raw_member(m, catalogue, url) if "raw" in m else rule_row(m, catalogue, url))
                   for m in group["rules"]]
        st.button("Add rule to group", icon=":material/add:", key=f"{g}:add", on_click=add_rule, args=(catalogue, g))
    applied = [m for m in members if m is not None]
    waiting = len(members) - len(applied)
    return ({"match": group["match"], "rules": applied} if applied else None), waiting


def edit_rules(catalogue: Catalogue, url: str) -> tuple[list, int]:
    """Draw the whole draft; returns (the rules to apply now, how many rows are waiting for a value or invalid)."""
    applied, waiting = [], 0
    for item in st.session_state[state.DRAFT]:
        if "rules" in item:
            rule, group_waiting = group_box(item, catalogue, url)
            waiting += group_waiting or (rule is None)
        else:
            rule = _raw_member(item, catalogue, url) if "raw" in item else rule_row(item, catalogue, url)
            waiting += rule is None
        if rule is not None:
            applied.append(rule)
    return applied, waiting
