"""Who is using the app (SPEC §10): the sign-in gate, the allow lists and roles from secrets.toml, and what the
pages show to a role that may not do something.

Without an ``[auth]`` section the app is one analyst's tool on their own machine: no sign-in, every right, and the
server listens on localhost only (``server.address`` in .streamlit/config.toml). With ``[auth]`` every page needs
sign-in (Streamlit's OpenID Connect, ``st.login``), and ``[segmenter] allowed`` decides who enters — nobody when it
is missing. The signed-in user is Streamlit's ``st.user``; tests set it through ``AppTest.user``, Streamlit's own
testing support, which a running server never reads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import streamlit as st

from segmenter import SegmenterError
from segmenter.access import ADMIN, EDITOR, Team, may, os_user
from segmenter.settings import load as load_settings

from .format import md

LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Identity:
    """Who this session acts as: an email (or the OS user without sign-in), a role, and whether they signed in."""
    who: str
    role: str
    signed_in: bool


def auth_configured() -> bool:
    """Whether secrets.toml has an ``[auth]`` section (then sign-in is required)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _section() -> Any:
    try:
        return st.secrets.get("segmenter", {})
    except Exception:
        return {}


def _user(key: str) -> Any:
    try:
        return st.user.get(key)
    except Exception:  # st.user is unavailable outside a running app
        return None


def identity() -> Identity:
    """Who this session is, or the page stops here: a sign-in screen, or a refusal naming the email used.
    Called before anything shows data (app.py, and get_segmenter() for every page)."""
    if not auth_configured():
        return Identity(load_settings().user or os_user(), ADMIN, False)
    if not _user("is_logged_in"):
        _sign_in_screen()
    email = _user("email")
    try:
        team = Team.from_section(_section())
    except SegmenterError as exc:  # a typo in the allow lists: nobody gets in until it is fixed
        _refuse(f"The app's sign-in settings have a problem, so nobody can enter until an admin fixes them: "
                f"{md(exc)}.")
    role = team.role_for(email, _user("email_verified"))
    if role is None:
        used = f"**{md(email)}**" if isinstance(email, str) and email.strip() else "an account without an email"
        _refuse(f"You signed in as {used}, which is not allowed to use this app. Ask an admin to add you, or "
                "sign out and sign in with another account.")
    return Identity(email.strip().lower(), role, True)


def _sign_in_screen() -> NoReturn:
    st.title("Segmenter")
    st.info("This app holds personal data: sign in to continue.")
    st.button("Sign in", key="sign_in", type="primary", on_click=st.login)
    st.stop()
    raise AssertionError("st.stop() ends the run")  # for the type checker: st.stop raises


def _refuse(message: str) -> NoReturn:
    st.title("Segmenter")
    st.error(message, icon=":material/block:")
    st.button("Sign out", key="sign_out", on_click=st.logout)
    st.stop()
    raise AssertionError("st.stop() ends the run")


def can(me: Identity, needed: str) -> bool:
    return may(me.role, needed)


def why_not(me: Identity, needed: str, action: str) -> str:
    """The reason shown beside a control this role may not use."""
    return f"{action[:1].upper()}{action[1:]} needs the {needed} role; you are signed in as a {me.role}."


def account_box(me: Identity) -> None:
    """The sidebar's word on who is using the app, and a sign-out button (or the no-sign-in warning)."""
    if me.signed_in:
        st.caption(f"Signed in as {md(me.who)} ({me.role})")
        st.button("Sign out", key="sign_out", on_click=st.logout)
        return
    address = _address()
    if address in LOOPBACK:
        st.caption(f"No sign-in configured: this app listens on {address} only. Anyone who can reach it sees "
                   "every contact; docs/operating.md says how to secure a team deployment.")
    else:
        st.warning(f"No sign-in configured, and this app listens on {md(address or 'every address')}: anyone who "
                   "can reach it sees every contact. Add an [auth] section (docs/operating.md).")


def _address() -> str:
    try:
        return str(st.get_option("server.address") or "")
    except Exception:
        return ""


__all__ = ["ADMIN", "EDITOR", "Identity", "account_box", "auth_configured", "can", "identity", "why_not"]
