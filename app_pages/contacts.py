"""Contacts: browse and search a page at a time (ignoring case and accents), open one contact to see every field
or erase it (ui/contact_detail.py), and import a CSV after a preview of what it will do."""
from __future__ import annotations

import csv
import io
import math

import pandas as pd
import streamlit as st

from segmenter import ContactError
from ui import auth, contact_detail, panels, resources
from ui import format as fmt
from ui.downloads import rejected_csv
from ui.resources import get_segmenter, max_upload_mb, suggestions

REPORT = "import_report"
ROUND = "import_round"  # bumped after each import: the file uploader starts empty again
PAGE_SIZE = 25
DATES = {"Decide from the file": None, "Day first (31-12-2024)": True, "Month first (12-31-2024)": False}
seg = get_segmenter()
me = auth.identity()
st.title("Contacts")
panels.offer_demo(seg)
browse, upload_tab = st.tabs(["Browse and search", "Import a CSV"])


def _picked(key: str) -> None:
    """A contact chosen in the results: open it (the address carries it) and leave the menu empty again."""
    chosen = st.session_state.get(key)
    if chosen is not None:
        contact_detail.open_contact(chosen)
        st.session_state[key] = None


def results(query: str) -> None:
    """A page of the contacts whose email, name or company contains the text, ignoring case and accents (every
    contact when the box is empty), in id order, and a menu to open one of them."""
    first = seg.search_contacts(query, limit=PAGE_SIZE)
    n = first["count"]
    pages = max(1, math.ceil(n / PAGE_SIZE))
    page = st.columns([1, 3])[0].number_input(f"Page (of {pages:,})", 1, pages, 1, key=f"contacts_page:{pages}")
    rows = first["contacts"] if page == 1 else seg.search_contacts(query, limit=PAGE_SIZE,
                                                                   offset=(page - 1) * PAGE_SIZE)["contacts"]
    start = (page - 1) * PAGE_SIZE + 1
    if not rows:
        st.caption(f"No contact's email, name or company contains “{fmt.md(fmt.cut(query))}”." if query
                   else "No contacts yet.")
        return
    st.caption(f"Contacts {start:,}–{start + len(rows) - 1:,} of {n:,}, ordered by id"
               + (" (email, name or company contains the text, ignoring case and accents)" if query else ""))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="contact_results")
    labels = {r["id"]: f"{r['email']}" + (f" — {r['name']}" if r.get("name") else "") for r in rows}
    key = f"contact_pick:{page}"
    st.selectbox("Open a contact", list(labels), index=None, key=key, on_change=_picked, args=(key,),
                 format_func=lambda i: fmt.cut(labels.get(i, str(i)), 100),
                 placeholder="choose a contact on this page to see every field",
                 help="A link to a contact: add ?contact=<email or id> to this page's address.")


with browse:
    contact_detail.show_erased()
    contact_detail.show(seg)
    query = st.text_input("Search email, name or company", key="contact_search", placeholder="e.g. acme or josé",
                          help="Finds contacts whose email, name or company contains the text, ignoring case and "
                               "accents: jose finds José, MULLER finds Müller.").strip()
    results(query)


def show_report(report, name: str) -> None:
    # Counted by contact: rows that repeat an email of an earlier row (dup@x.com, DUP@x.com) are said apart, never
    # as "updated" contacts that did not exist before the import.
    repeated = report.repeated
    again = (f" {repeated:,} {'row' if repeated == 1 else 'rows'} repeated an email of an earlier row: applied to the "
             "same contact, the later row wins.") if repeated else ""
    st.success(f"Imported {fmt.md(name)}: {report.inserted:,} new, {report.updated:,} updated, "
               f"{len(report.rejected):,} rejected.{again}")
    if report.new_fields:
        st.caption("New fields: " + ", ".join(f"{k} ({v})" for k, v in report.new_fields.items()))
    if report.rejected:
        st.dataframe(pd.DataFrame([{"line": r.line, "reason": r.reason} for r in report.rejected[:500]]),
                     hide_index=True, width="stretch")
        st.download_button("Download rejected rows (CSV)", rejected_csv(report.rejected, report.headers),
                           file_name="rejected-rows.csv", mime="text/csv", on_click="ignore", key="rejected_csv",
                           help="Each rejected row as it is in the file, then its line number and the reason. Fix the "
                                "rows, delete the line and reason columns, and import the file again.")


def text_because(plan) -> None:
    """A new column guessed as text although most of its cells are numbers (dates, booleans): name the cells that
    did it, with their lines, so the analyst can fix the file before importing."""
    for c in plan.columns:
        if not c.text_cells:
            continue
        n = c.text_cell_count
        cells = "cell is" if n == 1 else "cells are"
        st.warning(f"**{fmt.md(fmt.cut(c.field))}** will be a *text* field because {n:,} {cells} not "
                   f"{c.would_be}s{'' if n <= len(c.text_cells) else f' (the first {len(c.text_cells)} below)'}. "
                   f"Fix them in the file and choose it again to import it as {c.would_be}s, or import it as text.")
        st.dataframe(pd.DataFrame([{"line": line, "value": fmt.cut(v)} for line, v in c.text_cells]),
                     hide_index=True, key=f"text_cells:{c.header}")


def _headers(upload) -> list[str]:
    """The file's header row, read the same way as the importer (UTF-8, a BOM allowed)."""
    first = upload.getvalue()[:1_000_000].decode("utf-8-sig", errors="replace")
    return next(csv.reader(io.StringIO(first)), [])


def _email_column(upload) -> dict:
    """A file without a column named email cannot be read until one is chosen: ask for it, in the app's words."""
    headers = [h for h in _headers(upload) if h.strip()]
    guess = next((i for i, h in enumerate(headers) if "mail" in h.casefold()), None)
    st.warning("This file has no column named *email*. Choose the column that holds the email addresses; the table "
               "below then shows where every other column goes.")
    chosen = st.selectbox("Column with the email addresses", headers, index=guess, key=f"email_col:{upload.file_id}",
                          placeholder="choose a column", format_func=fmt.cut)
    if chosen is None:
        st.stop()
    return {chosen: "email"}


def column_plan(upload, dayfirst: bool | None, limit: int):
    """Left: where each column goes, editable; right: what the import does with that mapping (types, new fields).
    Returns (the plan, the mapping: the email column chosen, if any, and the columns the user changed)."""
    chosen: dict = {}
    try:
        auto = seg.preview_csv(upload, dayfirst=dayfirst, max_bytes=limit)
    except ContactError as exc:
        if "no email column" not in str(exc):
            raise
        chosen = _email_column(upload)
        auto = seg.preview_csv(upload, chosen, dayfirst=dayfirst, max_bytes=limit)
    st.caption("Where each column goes: edit “import as” to use another field, or clear it to skip the column.")
    left, right = st.columns([2, 3])
    wanted = pd.DataFrame([{"CSV column": c.header, "import as": c.field or ""} for c in auto.columns])
    edited = left.data_editor(wanted, key=f"mapping:{upload.file_id}", hide_index=True, width="stretch",
                              disabled=["CSV column"])
    mapping = chosen | {row["CSV column"]: (str(row["import as"] or "").strip() or None)
                        for (_, row), old in zip(edited.iterrows(), wanted["import as"]) if row["import as"] != old}
    plan = seg.preview_csv(upload, mapping or None, dayfirst=dayfirst, max_bytes=limit)
    right.dataframe(pd.DataFrame([{"field": c.field or "(skipped)", "type": c.type or "", "new field": c.new,
                                   "note": c.note} for c in plan.columns]), hide_index=True, width="stretch")
    return plan, mapping


with upload_tab:
    if not auth.can(me, auth.ADMIN):
        st.info(auth.why_not(me, auth.ADMIN, "importing contacts"))
        st.stop()
    done = st.session_state.pop(REPORT, None)
    if done:
        show_report(*done)
    # A new key after each import clears the chosen file, so one more click cannot import it twice.
    upload = st.file_uploader("CSV file (UTF-8, header row)", type=["csv"], max_upload_size=max_upload_mb(),
                              key=f"csv_file:{st.session_state.get(ROUND, 0)}")
    if upload is not None:
        dayfirst = DATES[st.radio("Dates such as 02-07-2020 are", list(DATES), horizontal=True, key="dayfirst")]
        limit = resources.max_upload_bytes()
        try:
            plan, mapping = column_plan(upload, dayfirst, limit)
        except ContactError as exc:  # not a CSV, not UTF-8, too big, a mapping that collides…
            st.error(f"{upload.name} cannot be imported: {exc}")
            st.stop()
        if not plan.row_count:
            st.warning(f"{fmt.md(upload.name)} has a header but no rows: there is nothing to import.")
            st.stop()
        text_because(plan)
        if plan.new_fields:
            st.info("New fields will be created: " + ", ".join(f"{k} ({v})" for k, v in plan.new_fields.items()))
        if st.button(f"Import {plan.row_count:,} rows", type="primary", key="import_csv"):
            bar = st.progress(0.1, text=f"Checking and writing {plan.row_count:,} rows in one transaction…")
            try:
                report = seg.import_csv(upload, mapping or None, dayfirst=dayfirst, max_bytes=limit)
            except ContactError as exc:
                bar.empty()
                st.error(f"{upload.name} was not imported: {exc}")
                st.stop()
            bar.progress(1.0, text="Done")
            suggestions.clear()  # new values should show up in `in` lists now, not in a minute
            st.session_state[REPORT] = (report, upload.name)
            st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
            st.rerun()  # the sidebar's total and the browse tab show the new contacts
