"""The one Segmenter per database URL, shared by every session (it is thread-safe), and who is signed in."""
from __future__ import annotations

import streamlit as st

import segmenter
from segmenter.settings import load as load_settings

from .format import md


def max_upload_mb() -> int:
    """The upload limit in megabytes: ``server.maxUploadSize`` (.streamlit/config.toml), the one place it is set."""
    return int(st.get_option("server.maxUploadSize"))


def max_upload_bytes() -> int:
    """The same limit, checked again by the importer whatever the browser let through."""
    return max_upload_mb() * 1_000_000


@st.cache_resource(show_spinner="Opening the database…")
def _segmenter(url: str) -> segmenter.Segmenter:
    # Keyed by URL: the snapshot inside refreshes itself from the change log, so sharing it never serves stale data.
    return segmenter.connect(url)


def get_segmenter() -> segmenter.Segmenter:
    """The Segmenter for $SEGMENTER_DATABASE_URL (or the default SQLite file); stops the page with a message if
    the database cannot be opened."""
    try:
        return _segmenter(load_settings().database_url)  # may itself fail on an unreadable secrets.toml
    except segmenter.SegmenterError as exc:
        st.error(f"The database could not be opened. {exc}")
        st.stop()


def current_user() -> str | None:
    """The signed-in user's email (recorded on segments they save), or None when nobody is signed in."""
    try:
        if st.user.get("is_logged_in"):
            email = st.user.get("email")
            return email if isinstance(email, str) else None
    except Exception:  # st.user is unavailable outside a running app (bare script, some test harnesses)
        return None
    return None


@st.cache_data(ttl=60, show_spinner=False)
def suggestions(url: str, field: str) -> list[str]:
    """Common values of a text field for `in` lists. Shared data (the same for everyone on this database),
    refreshed every minute: a suggestion is only a hint, the rule is evaluated on current data."""
    return _segmenter(url).suggestions(field, limit=100)


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def account_box() -> None:
    """Sign in / out in the sidebar when the app has an [auth] section in secrets.toml (docs/operating.md)."""
    if not _auth_configured():
        return
    user = current_user()
    if user:
        st.caption(f"Signed in as {md(user)}")
        st.button("Sign out", key="sign_out", on_click=st.logout)
    else:
        st.caption("Sign in so the segments you save record your name.")
        st.button("Sign in", key="sign_in", on_click=st.login)
