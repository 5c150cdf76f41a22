"""Every ``SEGMENTER_*`` setting, read in one place into one frozen object (docs/operating.md lists them).

``load()`` reads the environment (and ``.streamlit/secrets.toml`` for the database URL when the environment has
none) at the moment an entry point starts — ``connect()``, ``create_app()``, the CLI — so a process that changes
its environment before connecting is honoured; nothing else in the package reads ``os.environ``."""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from . import access
from .errors import SegmenterError

DEFAULT_URL = "sqlite:///segmenter.db"
SECRETS_PATH = os.path.join(".streamlit", "secrets.toml")
_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    env_database_url: str | None = None
    """$SEGMENTER_DATABASE_URL as set (``database_url`` is what to use)."""
    user: str | None = None
    """$SEGMENTER_USER: who segments saved by this process are recorded as created by."""
    backend: str | None = None
    """$SEGMENTER_BACKEND: ``auto`` (None), ``memory`` or ``sql``; checked by the back-end choice."""
    memory_budget: str | None = None
    """$SEGMENTER_MEMORY_BUDGET as written (``2GB``, ``500MB``): the most the snapshot may take before ``auto``
    answers in SQL; parsed (with its error message) by the back-end choice. None: 25% of the memory limit."""
    memory_limit: str | None = None
    """$SEGMENTER_MEMORY_LIMIT as written (deprecated: a contact count; the budget replaces it)."""
    api_key: str = ""
    """$SEGMENTER_API_KEY; empty means the HTTP API needs none. An editor key named SEGMENTER_API_KEY."""
    api_keys: str | None = None
    """$SEGMENTER_API_KEYS as written: ``name:role:key`` entries separated by commas (``api_key_list`` parses)."""
    snapshot_cache: bool = True
    """$SEGMENTER_SNAPSHOT_CACHE: off with 0/false/no/off."""
    debug: bool = False
    """$SEGMENTER_DEBUG: the CLI shows the traceback of an unexpected error."""
    history_days: str | None = None
    """$SEGMENTER_HISTORY_DAYS as written: membership records older than this many days are pruned by `record`
    (default 400); parsed, with its error message, by ``history.history_days`` when records are pruned."""

    def api_key_list(self) -> list[ApiKey]:
        """The HTTP API's keys: $SEGMENTER_API_KEYS, then $SEGMENTER_API_KEY (an editor). A malformed value is a
        SegmenterError, so the server does not start."""
        return parse_api_keys(self.api_keys, self.api_key)

    @cached_property
    def database_url(self) -> str:
        """$SEGMENTER_DATABASE_URL, else ``[segmenter] database_url`` in ./.streamlit/secrets.toml, else SQLite.
        Read when first asked for, so an unreadable secrets file only matters to a caller that needs the URL."""
        return self.env_database_url or _secrets_url() or DEFAULT_URL


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as they are now (the environment is read here and nowhere else)."""
    env = os.environ if environ is None else environ
    return Settings(
        env_database_url=env.get("SEGMENTER_DATABASE_URL") or None,
        user=env.get("SEGMENTER_USER") or None,
        backend=env.get("SEGMENTER_BACKEND") or None,
        memory_budget=env.get("SEGMENTER_MEMORY_BUDGET") or None,
        memory_limit=env.get("SEGMENTER_MEMORY_LIMIT") or None,
        api_key=env.get("SEGMENTER_API_KEY", ""),
        api_keys=env.get("SEGMENTER_API_KEYS"),
        snapshot_cache=env.get("SEGMENTER_SNAPSHOT_CACHE", "1") not in _OFF,
        debug=bool(env.get("SEGMENTER_DEBUG")),
        history_days=env.get("SEGMENTER_HISTORY_DAYS") or None,
    )


def _secrets_url() -> str | None:
    # The app's secrets file, read without Streamlit so the CLI and scripts run beside the app use the same database.
    try:
        with open(SECRETS_PATH, "rb") as f:
            section = tomllib.load(f).get("segmenter", {})
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SegmenterError(f"cannot read .streamlit/secrets.toml: {exc}") from None
    url = section.get("database_url") if isinstance(section, dict) else None
    return url if isinstance(url, str) and url.strip() else None


# ---- HTTP API keys (SPEC §10) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    key: str

    def __repr__(self) -> str:  # never print the secret
        return f"ApiKey(name={self.name!r}, role={self.role!r})"


_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
LEGACY_KEY_NAME = "SEGMENTER_API_KEY"


def parse_api_keys(keys: str | None, legacy_key: str | None = None) -> list[ApiKey]:
    """``$SEGMENTER_API_KEYS`` (``name:role:key`` entries separated by commas) plus ``$SEGMENTER_API_KEY`` (an
    editor key named ``SEGMENTER_API_KEY``). A malformed value is a SegmenterError that names the entry by its
    position and name (never the key), so the server refuses to start instead of starting unguarded."""
    found: list[ApiKey] = []
    if keys is not None and keys.strip():
        for i, entry in enumerate(keys.split(","), 1):
            parts = entry.strip().split(":", 2)
            where = f"SEGMENTER_API_KEYS entry {i}"
            if len(parts) != 3:
                raise SegmenterError(f"{where} must be name:role:key, got {len(parts)} part(s)")
            name, role, key = (p.strip() for p in parts)
            if not _KEY_NAME.match(name):
                raise SegmenterError(f"{where}: the name {name!r} must be 1–100 letters, digits or _ . @ + -")
            if role not in access.ROLES:
                raise SegmenterError(f"{where} ({name}): unknown role {role!r}; "
                                     f"expected one of: {', '.join(access.ROLES)}")
            if not key or any(c.isspace() for c in key):
                raise SegmenterError(f"{where} ({name}): the key is empty or contains spaces")
            found.append(ApiKey(name, role, key))
    if legacy_key:
        found.append(ApiKey(LEGACY_KEY_NAME, access.EDITOR, legacy_key))
    _unique(found)
    return found


def _unique(keys: Iterable[ApiKey]) -> None:
    names: set[str] = set()
    secrets: set[str] = set()
    for k in keys:
        if k.name in names:
            raise SegmenterError(f"SEGMENTER_API_KEYS: the name {k.name!r} is used twice; each key needs its own")
        if k.key in secrets:
            raise SegmenterError(f"SEGMENTER_API_KEYS: the key of {k.name!r} is also another entry's key; "
                                 "each name needs its own key")
        names.add(k.name)
        secrets.add(k.key)
