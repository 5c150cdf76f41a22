"""Every ``SEGMENTER_*`` setting, read in one place into one frozen object (docs/operating.md lists them).

``load()`` reads the environment (and ``.streamlit/secrets.toml`` for the database URL when the environment has
none) at the moment an entry point starts — ``connect()``, ``create_app()``, the CLI — so a process that changes
its environment before connecting is honoured; nothing else in the package reads ``os.environ``."""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

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
    memory_limit: str | None = None
    """$SEGMENTER_MEMORY_LIMIT as written; parsed (with its error message) by the back-end choice."""
    api_key: str = ""
    """$SEGMENTER_API_KEY; empty means the HTTP API needs none."""
    snapshot_cache: bool = True
    """$SEGMENTER_SNAPSHOT_CACHE: off with 0/false/no/off."""
    debug: bool = False
    """$SEGMENTER_DEBUG: the CLI shows the traceback of an unexpected error."""

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
        memory_limit=env.get("SEGMENTER_MEMORY_LIMIT"),
        api_key=env.get("SEGMENTER_API_KEY", ""),
        snapshot_cache=env.get("SEGMENTER_SNAPSHOT_CACHE", "1") not in _OFF,
        debug=bool(env.get("SEGMENTER_DEBUG")),
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
