"""One contact on the Contacts page: every field (core, then custom, with its type), opened from the search results
or by a link ``?contact=<email or id>``, and erasure (SPEC §1) for an admin, after a confirmation naming the contact.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from segmenter import ContactError, Segmenter, SegmenterError

from . import auth
from . import format as fmt

PARAM = "contact"           # ?contact=<email or id>
CONFIRM = "erase_confirm"   # the id of the contact whose erasure awaits a yes
ERASED = "contact_erased"   # the message left for the rerun after an erasure


def open_contact(ref: object) -> None:
    """Open a contact (its id or email) in the detail view; the address carries it, so the link can be shared."""
    st.query_params[PARAM] = str(ref)
    st.session_state.pop(CONFIRM, None)


def close() -> None:
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    st.session_state.pop(CONFIRM, None)


def _label(contact: dict) -> str:
    who = f"{contact['email']} (#{contact['id']})"
    return f"{contact['name']} — {who}" if contact.get("name") else who


def _shown(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    return str(value)


def fields_table(seg: Segmenter, contact: dict) -> pd.DataFrame:
    """Every field of the contact in the catalogue's order (core fields, then custom ones), with its type."""
    catalogue = seg.catalogue()
    names = [n for n in catalogue.names if n in contact] + [n for n in contact if n not in catalogue]
    return pd.DataFrame([{"field": n, "type": catalogue[n].type if n in catalogue else "",
                          "custom": bool(n in catalogue and catalogue[n].custom), "value": _shown(contact[n])}
                         for n in names])


def show_erased() -> None:
    """After an erasure: say that the contact is gone (shown once, on the rerun that follows)."""
    message = st.session_state.pop(ERASED, None)
    if message:
        st.success(message, icon=":material/delete_forever:")


def show(seg: Segmenter) -> None:
    """The detail view of ``?contact=``, if the address names one."""
    ref = st.query_params.get(PARAM)
    if ref is None:
        return
    try:
        contact = seg.get_contact(ref)
    except ContactError as exc:
        st.warning(f"{fmt.md(str(exc)[:1].upper() + str(exc)[1:])}: it may have been erased, or the link is wrong.")
        st.button("Close", key="contact_close", on_click=close)
        return
    with st.container(border=True):
        st.subheader(fmt.md(fmt.cut(_label(contact), 120)))
        table = fields_table(seg, contact)
        # tall enough for every field: nothing of the contact is hidden behind a scroll bar
        st.dataframe(table, hide_index=True, width="stretch", key="contact_fields", height=35 * (len(table) + 1) + 3,
                     column_config={"custom": st.column_config.CheckboxColumn("custom", width="small")})
        left, right = st.columns(2)
        left.button("Close", key="contact_close", on_click=close, width="stretch")
        with right:
            _erase(seg, contact)


def _erase(seg: Segmenter, contact: dict) -> None:
    me = auth.identity()
    label = f"{contact['email']} (#{contact['id']})"
    if not auth.can(me, auth.ADMIN):
        st.button("Erase this contact", key="erase_contact", disabled=True, width="stretch",
                  icon=":material/delete_forever:", help=auth.why_not(me, auth.ADMIN, "erasing contacts"))
        return
    if st.session_state.get(CONFIRM) != contact["id"]:
        if st.button("Erase this contact…", key="erase_contact", width="stretch", icon=":material/delete_forever:"):
            st.session_state[CONFIRM] = contact["id"]
            st.rerun()
        return
    st.warning(f"Erase **{fmt.md(fmt.cut(_label(contact), 120))}**? The contact and every copy Segmenter keeps are "
               "removed for good; it cannot be undone. The audit log records that one contact was erased, not whom.")
    yes, no = st.columns(2)
    if yes.button(f"Yes, erase {fmt.cut(contact['email'], 40)}", key="erase_yes", type="primary", width="stretch"):
        try:
            removed = seg.delete_contacts([contact["email"]])
        except SegmenterError as exc:  # PermissionDenied if the role changed meanwhile, a database error…
            st.error(f"{fmt.md(label)} was not erased: {fmt.md(exc)}")
            return
        close()
        st.session_state[ERASED] = (
            f"{fmt.md(label)} was erased: it is gone from every count, list and export. "
            f"{seg.total_contacts():,} contacts remain." if removed else
            f"{fmt.md(label)} was already gone (someone erased it a moment ago).")
        st.rerun()
    no.button("Cancel", key="erase_no", on_click=st.session_state.pop, args=(CONFIRM, None), width="stretch")
