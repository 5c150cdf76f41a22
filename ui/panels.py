"""The Build page's panels: what the current rules select (count, funnel, preview) and what can be done with them
(save, export, share, JSON); the breakdown and explain panels are in ``ui/insight.py``. Each panel reads widgets,
calls the Segmenter, renders."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from segmenter import RuleError, SegmentConflict, Segmenter, SegmenterError, SegmentNotFound
from segmenter.fields import Catalogue
from segmenter.rules import MAX_NAME

from . import auth, state
from . import format as fmt
from .downloads import csv_export
from .resources import current_user
from .segment_list import changed_by, same_name_note

PAGE_SIZE = 25


# ---- arriving: links and the empty database -------------------------------------------------------------------

def apply_link(seg: Segmenter) -> None:
    """Open what the address asks for once per new address: ``?segment=ID`` or ``?rules=<base64 JSON>``."""
    segment_ref, rules_ref = wanted = (st.query_params.get("segment"), st.query_params.get("rules"))
    if wanted == (None, None) or wanted == st.session_state[state.QUERY_APPLIED]:
        return
    st.session_state[state.QUERY_APPLIED] = wanted
    try:
        if segment_ref is not None:
            found = seg.get_segment(segment_ref)
            opened = state.opened(found)
            try:
                # ?segment=ID&rules=… is the segment with unsaved edits (a reload, Back, or a shared link)
                state.load(seg.validate(fmt.decode_rules(rules_ref) if rules_ref else found["rules"]).canonical,
                           opened)
            except RuleError as exc:  # a field it names was removed: open it empty so corrected rules can be saved
                state.load([], opened)
                st.error(f"Segment #{found['id']}'s rules no longer fit the data: {fmt.md(exc)}. Paste corrected rules "
                         "under “Rules as JSON” and update it, or delete it on the Segments page.")
        elif rules_ref is not None:
            state.load(seg.validate(fmt.decode_rules(rules_ref)).canonical, None)
    except SegmentNotFound:
        st.error(f"Segment {fmt.md(segment_ref)} was not found; it may have been deleted. "
                 "Showing a new, empty segment.")
    except (ValueError, SegmenterError) as exc:  # RuleError is a ValueError: rules that no longer fit the data
        # A link is someone else's text: shown literally, so it cannot plant a Markdown link or image here.
        st.error(f"The link could not be opened: {fmt.md(exc)}")


def offer_demo(seg: Segmenter) -> None:
    """On an empty database, offer the demo contacts (the first-run experience)."""
    if seg.total_contacts():
        return
    me = auth.identity()
    if not auth.can(me, auth.ADMIN):  # demo data on a team database is an admin's decision
        st.info("The database has no contacts yet. " + auth.why_not(me, auth.ADMIN, "loading demo data or importing "
                                                                     "contacts") + " Ask an admin.")
        return
    st.info("The database has no contacts yet. Load demo contacts to explore, or import a CSV on the Contacts page.")
    if st.button("Load 20,000 demo contacts", type="primary", key="load_demo"):
        with st.spinner("Creating demo contacts…"):
            seg.load_demo()
        st.rerun()


# ---- what the rules select ----------------------------------------------------------------------------------------

def headline(n: int, total: int, waiting: int) -> None:
    """The live count, its share and the rules waiting. A row that wraps (a flex row, not columns): on a narrow
    page a figure moves to the next line instead of being cut to "2,…"."""
    with st.container(horizontal=True, wrap=True, gap="medium", key="headline"):
        st.metric("Matching contacts", fmt.count(n), width="content")
        st.metric("Share of all contacts", fmt.share(n, total), help=f"of {total:,} contacts", width="content")
        st.metric("Rules waiting", waiting, help="Rules without a value yet, or with a problem: not applied",
                  width="content")


# How each type reads in either direction (SPEC §3 *Order*: text by lower case, false before true, empty last).
DIRECTIONS = {"text": ("A→Z", "Z→A"), "number": ("smallest first", "largest first"),
              "datetime": ("oldest first", "newest first"), "boolean": ("false first", "true first")}


@dataclass(frozen=True)
class Listing:
    """How the preview lists the matching contacts, and the export writes them: the core's order (SPEC §3)."""
    order_by: str = "id"
    field_type: str = "number"
    descending: bool = False
    columns: tuple[str, ...] = ()  # the fields shown and exported, in order; () = all (core, then custom)

    def words(self) -> str:
        """``ordered by company, A→Z, empty last`` (ids are never empty, emails are required)."""
        if self.order_by == "id":
            return "ordered by id, highest first" if self.descending else "ordered by id"
        direction = directions(self.order_by, self.field_type)[self.descending]
        return f"ordered by {self.order_by}, {direction}" + ("" if self.order_by == "email" else ", empty last")


def directions(field: str, field_type: str) -> tuple[str, str]:
    """The two directions of a field in words: ascending, descending."""
    return ("lowest first", "highest first") if field == "id" else DIRECTIONS.get(field_type,
                                                                                   ("ascending", "descending"))


def order_controls(catalogue: Catalogue) -> Listing:
    """"Sort by" and the direction: the whole segment is sorted by the core, never just the rows on screen."""
    names = catalogue.names
    left, right = st.columns([1, 1])
    if st.session_state.get("preview_order_by") not in names:
        st.session_state["preview_order_by"] = "id"  # a field removed meanwhile: back to the default order
    order_by = left.selectbox("Sort by", names, key="preview_order_by",
                              help="Sorts every matching contact (not only this page); the export uses it too.")
    kind = catalogue[order_by].type
    words = directions(order_by, kind)
    descending = right.radio("Direction", [False, True], key="preview_descending", horizontal=True,
                             format_func=lambda d: words[d])
    # Every field at first; then the choice, less any field removed meanwhile. Set through session state only (a
    # default as well would make Streamlit warn on every rerun).
    chosen = st.session_state.get("preview_columns")
    st.session_state["preview_columns"] = names if chosen is None else [c for c in chosen if c in names]
    columns = st.multiselect("Columns (preview and export)", names, key="preview_columns",
                             help="The fields shown here and written to the CSV, in this order.")
    return Listing(order_by, kind, bool(descending), tuple(columns))


def _cell(value: object) -> str:
    """A contact's value as the preview shows it: empty for no value, numbers without a needless ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def preview(seg: Segmenter, rules: list, n: int, catalogue: Catalogue) -> Listing:
    """One page of the matching contacts (never the whole result) in the order and columns chosen, and where it
    sits in the total. A static table: a grid's header click would sort only the rows on screen, which misleads; and
    plain HTML rather than st.table, which would load ~1 MB more JavaScript into every new session."""
    listing = order_controls(catalogue)
    pages = max(1, math.ceil(n / PAGE_SIZE))
    page = st.columns([1, 3])[0].number_input(
        f"Page (of {pages:,})", 1, pages, 1,
        key=f"preview_page:{pages}:{listing.order_by}:{listing.descending}")  # a new order starts at page 1
    rows = seg.contacts(rules, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, order_by=listing.order_by,
                        descending=listing.descending)
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(f"Contacts {first:,}–{first + len(rows) - 1:,} of {n:,}, {listing.words()}" if rows
               else "No contacts match.")
    if rows and not listing.columns:
        st.warning("Choose at least one column to show and export.")
    elif rows:
        columns = list(listing.columns)
        st.html(fmt.html_table(columns, [[_cell(row.get(c)) for c in columns] for row in rows]))
    return listing


def funnel(seg: Segmenter, rules: list, total: int) -> None:
    """How many contacts are left after each rule, so the rule that cuts the audience stands out."""
    if not rules:
        st.caption("Add rules to see how each one narrows the audience.")
        return
    steps = [{"after": "all contacts", "left": total}] + [
        {"after": f"{s['position']}. {s['rule']}", "left": s["count"]} for s in seg.funnel(rules)]
    frame = pd.DataFrame(steps)
    frame["share"] = frame["left"] / total * 100 if total else 0.0
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "after": st.column_config.TextColumn("After rule", width="large"),
        "left": st.column_config.NumberColumn("Contacts left", format="localized"),
        "share": st.column_config.ProgressColumn("Share of all", min_value=0, max_value=100, format="%.1f%%")})


# ---- what can be done with the rules -----------------------------------------------------------------------------

def _save(seg: Segmenter, rules: list, waiting: int, name: str, as_new: bool,
          overwrite_version: int | None = None) -> None:
    """Save or update, then leave the outcome as a flash message for the rerun that follows. An update says which
    version it was made from (the one opened, or ``overwrite_version`` when the user chose to overwrite a
    teammate's newer one); a newer stored version is a conflict the user decides about, never a silent overwrite."""
    loaded = st.session_state[state.LOADED]
    if waiting:
        state.flash("error", f"{waiting} rule(s) are waiting for a value or have a problem: finish or remove them, "
                             "then save.")
        return
    try:
        if loaded and not as_new:
            expected = overwrite_version if overwrite_version is not None else loaded.get("version")
            saved = seg.update_segment(loaded["id"], name=name, rules=rules, expected_version=expected,
                                       user=current_user())
        else:
            saved = seg.create_segment(name, rules, user=current_user())
    except SegmentConflict as exc:
        state.conflict("save", exc, {"name": name, "rules": rules})
        return
    except SegmenterError as exc:
        state.flash("error", f"Not saved: {exc}")
        return
    st.session_state.pop(state.CONFLICT, None)
    st.session_state[state.LOADED] = state.opened(saved)
    st.session_state[state.QUERY_APPLIED] = (str(saved["id"]), None)  # the new address must not reload the draft
    st.query_params.from_dict({"segment": str(saved["id"])})
    note = same_name_note(seg.list_segments(), saved["name"], saved["id"])
    state.flash("success", f"Saved segment #{saved['id']} “{fmt.md(saved['name'])}” "
                           f"({fmt.count(saved['contacts_count'])} contacts)." + (f" {note}" if note else ""))


def _load_theirs(seg: Segmenter, segment_id: int) -> None:
    """Conflict choice: drop the edits on screen and open the segment as it is stored now."""
    st.session_state.pop(state.CONFLICT, None)
    try:
        theirs = seg.get_segment(segment_id)
    except SegmenterError as exc:
        state.flash("error", f"Their version could not be opened: {exc}")
        return
    state.load(theirs["rules"], state.opened(theirs))
    st.session_state[f"segment_name:{segment_id}"] = theirs["name"]
    state.flash("success", f"Loaded segment #{segment_id} as {changed_by(theirs)} left it.")


def _conflict(seg: Segmenter, rules: list, waiting: int, name: str) -> None:
    """A teammate saved the open segment after it was opened: say who and when, and offer the three ways on."""
    loaded = st.session_state[state.LOADED]
    found = state.open_conflict("save", loaded["id"]) if loaded else None
    if not found:
        return
    with st.container(border=True, key="save_conflict"):
        st.warning(f"Not saved: segment #{found['id']} was changed by {changed_by(found)} after you opened version "
                   f"{loaded.get('version')}. Your rules are still on screen; nothing was overwritten.")
        choices = st.container(horizontal=True, wrap=True)
        choices.button("Load their version", key="conflict_load", on_click=_load_theirs, args=(seg, found["id"]),
                       help="Drop your edits and open the segment as it is saved now.")
        if choices.button("Save mine as a new segment", key="conflict_new",
                          help="Keep their version and save what is on screen as a new segment."):
            _save(seg, rules, waiting, name, as_new=True)
            st.rerun()
        if choices.button("Overwrite anyway", key="conflict_overwrite", type="primary",
                          help=f"Replace version {found['version']} with what is on screen."):
            _save(seg, rules, waiting, name, as_new=False, overwrite_version=found["version"])
            st.rerun()


def save(seg: Segmenter, rules: list, waiting: int) -> None:
    """Name + save (or update the loaded segment). Handled in the run itself, not in a callback, so the rules
    saved are the ones on screen even when a value was typed and Save clicked in one go."""
    loaded = st.session_state[state.LOADED]
    me = auth.identity()
    if not auth.can(me, auth.EDITOR):
        st.button("Save segment", type="primary", key="save_segment", width="stretch", disabled=True,
                  help=auth.why_not(me, auth.EDITOR, "saving segments"))
        st.caption(auth.why_not(me, auth.EDITOR, "saving segments") + " Share the link below instead.")
        return
    name = st.text_input("Segment name", loaded["name"] if loaded else "", max_chars=MAX_NAME,
                         key=f"segment_name:{loaded['id'] if loaded else 'new'}",
                         placeholder="e.g. Active enterprise customers")
    buttons = st.container(horizontal=True, wrap=True)  # wraps on a narrow page, never cut
    label = f"Update segment #{loaded['id']}" if loaded else "Save segment"
    if buttons.button(label, type="primary", key="save_segment"):
        _save(seg, rules, waiting, name, as_new=not loaded)
        st.rerun()
    if loaded and buttons.button("Save as a new segment", key="save_as_new"):
        _save(seg, rules, waiting, name, as_new=True)
        st.rerun()
    _conflict(seg, rules, waiting, name)
    state.show_flash()


ENCODINGS = {"UTF-8": False, "Excel (UTF-8 with BOM)": True}  # label → bom


def export(seg: Segmenter, rules: list, n: int, listing: Listing) -> None:
    """The CSV of every matching contact, in the preview's order and columns, named after the segment and the day."""
    loaded = st.session_state[state.LOADED]
    me = auth.identity()
    if not auth.can(me, auth.EDITOR):
        st.button(f"Export CSV ({fmt.count(n)} contacts)", key="export_csv", icon=":material/download:",
                  width="stretch", disabled=True, help=auth.why_not(me, auth.EDITOR, "exporting contacts"))
        st.caption(auth.why_not(me, auth.EDITOR, "exporting contacts"))
        return
    encoding = st.radio("File for", list(ENCODINGS), key="export_encoding", horizontal=True,
                        help="Excel opens a CSV as UTF-8 (accents intact) only when it starts with a byte order mark.")
    file_name = fmt.export_file_name(loaded["name"] if loaded else None, loaded["id"] if loaded else None,
                                     fmt.today())
    label = f"Export CSV ({fmt.count(n)} contacts)"
    if not listing.columns:
        st.button(label, key="export_csv", icon=":material/download:", width="stretch", disabled=True,
                  help="Choose at least one column above the preview.")
        return
    columns = list(listing.columns)
    data = csv_export(seg, rules, file_name, order_by=listing.order_by, descending=listing.descending,
                      columns=columns, bom=ENCODINGS[encoding])
    st.download_button(label, data=data, file_name=file_name, mime="text/csv", on_click="ignore", key="export_csv",
                       icon=":material/download:", width="stretch")
    st.caption(f"`{file_name}`: all matching contacts, {listing.words()}, with the preview's "
               f"{len(columns)} column{'s' if len(columns) != 1 else ''}, streamed from the database as it is now. "
               "Cells that could run as spreadsheet formulas are prefixed with '.")


def share(rules: list) -> None:
    loaded = st.session_state[state.LOADED]
    base = st.context.url
    if loaded:
        st.caption(f"Link to saved segment #{loaded['id']} (always shows its current rules and contacts):")
        st.caption(fmt.code_span(fmt.link(base, segment=str(loaded["id"]))))
    encoded = fmt.encode_rules(rules)
    st.caption("Link to the rules as they are on screen (works without saving):")
    if len(encoded) > fmt.MAX_LINK_CHARS:
        st.warning("These rules are too long for a link; save the segment or share the JSON instead.")
    else:
        st.caption(fmt.code_span(fmt.link(base, rules=encoded)))


def _paste(seg: Segmenter) -> None:
    try:
        rules = seg.validate(fmt.parse_json(st.session_state.get("paste_rules", ""))).canonical
    except (ValueError, SegmenterError) as exc:
        st.session_state["paste_error"] = str(exc)
        return
    state.load(rules, st.session_state[state.LOADED])
    st.session_state["paste_rules"] = ""


def rules_json(seg: Segmenter, rules: list) -> None:
    st.code(json.dumps(rules, indent=2, ensure_ascii=False), language="json")
    st.text_area("Paste rules JSON to replace the rules above", key="paste_rules", height=120,
                 placeholder='[{"field": "status", "operator": "equals", "value": "active"}]')
    st.button("Use pasted rules", key="use_pasted", on_click=_paste, args=(seg,))
    problem = st.session_state.pop("paste_error", None)
    if problem:
        st.error(f"Those rules were not used: {problem}")
