"""The one Segmenter per database URL, shared by every session (it is thread-safe), and each session's view of it."""
from __future__ import annotations

import streamlit as st

import segmenter
from segmenter.settings import load as load_settings

from . import auth
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


def shared_segmenter() -> segmenter.Segmenter:
    """The one Segmenter for $SEGMENTER_DATABASE_URL (or the default SQLite file), with every right: only for
    what is the same for everyone (suggestions). Stops the page with a message if the database cannot be opened."""
    try:
        return _segmenter(load_settings().database_url)  # may itself fail on an unreadable secrets.toml
    except segmenter.SegmenterError as exc:
        st.error(f"The database could not be opened. {exc}")
        st.stop()


def get_segmenter() -> segmenter.Segmenter:
    """This session's Segmenter: the shared one acting as the signed-in person with their role (SPEC §10), so a
    page that forgets a check still cannot do more than the role allows. Stops the page for anyone not let in."""
    me = auth.identity()
    return shared_segmenter().as_user(me.who, me.role, via="app")


def segmenter_for(url: str) -> segmenter.Segmenter:
    """The shared Segmenter of a database URL (the one get_segmenter returns for the default URL)."""
    return _segmenter(url)


@st.cache_data(ttl=5, show_spinner=False)
def segment_choices(url: str) -> list[dict]:
    """Saved segments' ids and names for pickers; a few seconds old at most (a pick is checked on current data)."""
    return _segmenter(url).segment_choices()


def current_user() -> str | None:
    """The signed-in user's email (recorded on segments they save), or None when nobody signs in."""
    me = auth.identity()
    return me.who if me.signed_in else None


@st.cache_data(ttl=60, show_spinner=False)
def suggestions(url: str, field: str) -> list[str]:
    """Common values of a text field for `in` lists. Shared data (the same for everyone on this database),
    refreshed every minute: a suggestion is only a hint, the rule is evaluated on current data."""
    return _segmenter(url).suggestions(field, limit=100)


def backend_box(seg: segmenter.Segmenter) -> None:
    """Which back end answers counts and why (the memory budget, the snapshot's size), and a background load's
    progress while one runs (redrawn every second until it ends): the analyst sees why counts are fast or slow."""
    loading = seg.backend_status().get("loading") is not None
    st.fragment(run_every=1.0 if loading else None)(_backend_lines)(seg)


def _backend_lines(seg: segmenter.Segmenter) -> None:
    status = seg.backend_status()
    where = "in memory" if status["backend"] == "memory" else "in the database (SQL)"
    st.caption(f"Counts are answered {where}.", help=md(status["reason"]))
    loading = status.get("loading")
    if loading:
        total = max(1, loading["total"])
        st.progress(min(1.0, loading["rows"] / total),
                    text=f"Loading contacts into memory: {loading['rows']:,} / {loading['total']:,}")
    elif status["budget"]:
        st.caption(f"Memory budget {md(status['budget'])}; snapshot {md(status['snapshot'])}.")
