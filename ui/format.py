"""Formatting for the pages: counts, shares, times, markdown-safe text, and share links for rules."""
from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re

from segmenter import search

MAX_LINK_CHARS = 6_000  # browsers and proxies cut URLs somewhere past 8 KB; stay well under
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def share(part: int, total: int) -> str:
    if not total:
        return "—"
    pct = 100 * part / total
    return f"{pct:.1f}%" if pct >= 0.1 or part == 0 else "<0.1%"


def when(iso: str | None) -> str:
    """``2026-01-05T10:00:00Z`` → ``2026-01-05 10:00 UTC``."""
    if not iso:
        return "—"
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


MAX_SHOWN = 60  # characters of a name, value or header quoted in a message; the rest is cut with …


def cut(text: object, limit: int = MAX_SHOWN) -> str:
    """Long names, headers and values quoted in a message are cut, so the message stays readable."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fold(text: object) -> str:
    """Text for searching: case and accents ignored (``José`` → ``jose``), as the core's contact search folds it."""
    return search.fold(str(text))


def md(text: object) -> str:
    """User text made literal for st.markdown (segment names, rule descriptions): no markdown, no LaTeX."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def encode_rules(rules: list) -> str:
    """Rules → the ``?rules=`` parameter: compact JSON in URL-safe base64 without padding."""
    data = json.dumps(rules, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_rules(text: str) -> list:
    """The ``?rules=`` parameter → rules JSON; ValueError with a reason when it cannot be read."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        rules = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the link's rules are not readable ({exc.__class__.__name__})") from None
    except RecursionError:  # JSON nested thousands deep: the decoder gives up; so do we, with the reason
        raise ValueError("the link's rules are nested too deeply to read") from None
    if not isinstance(rules, list):
        raise ValueError("the link's rules must be a JSON array")
    return rules


def parse_json(text: str) -> object:
    """JSON text → data; ValueError naming the line and column of the first problem."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not readable JSON: it is nested too deeply") from None


def today() -> dt.date:
    """Today's date in UTC (the app's time zone everywhere)."""
    return dt.datetime.now(dt.UTC).date()


MAX_SLUG = 60  # characters of a segment's name kept in an export's file name


def slug(text: object) -> str:
    """A name made safe for a file name: accents dropped, lower case, every run of other characters one ``-``
    (``Active Inc customers`` → ``active-inc-customers``; ``../Ünïcode: *x*`` → ``unicode-x``)."""
    words = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return words[:MAX_SLUG].rstrip("-")


def export_file_name(name: str | None, segment_id: int | None, day: dt.date) -> str:
    """``active-inc-customers-2026-12-01.csv`` for a saved segment, ``segment-2026-12-01.csv`` for rules on screen
    (and ``segment-7-…`` for a saved segment whose name has no letters or digits a file name keeps)."""
    stem = (slug(name) if name else "") or (f"segment-{segment_id}" if segment_id is not None else "segment")
    return f"{stem}-{day.isoformat()}.csv"


def link(base: str | None, **params: str) -> str:
    """A link to the app with query parameters (relative when the app's address is unknown)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{(base or '').split('?')[0]}?{query}"


def code_span(text: str) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds (a fence longer than its longest run); shown
    literally, so a URL or rules from a link can plant no Markdown."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


# The preview's table as plain HTML (st.html), not st.table: an Arrow table makes the browser fetch and compile about
# 1 MB of extra JavaScript (Arrow, its formatters, moment) before the first page can show, which cost ~1 s of every
# new session's load (docs/performance.md, "The app's load time"). Scoped by its class; colours follow the theme's
# text colour, so it reads the same in a dark theme.
TABLE_CLASS = "seg-table"
_TABLE_CSS = (f"<style>.{TABLE_CLASS}{{overflow-x:auto}}"
              f".{TABLE_CLASS} table{{border-collapse:collapse;font-size:0.875rem;width:100%}}"
              f".{TABLE_CLASS} th,.{TABLE_CLASS} td{{border-bottom:1px solid rgba(128,128,128,0.25);"
              "padding:0.25rem 0.5rem;text-align:left;white-space:nowrap;max-width:24em;overflow:hidden;"
              f"text-overflow:ellipsis}}.{TABLE_CLASS} th{{font-weight:600}}</style>")
LONG_CELL = 30  # characters: a longer value may be cut with … on screen, so it also goes in the cell's tooltip


def html_table(columns: list[str], rows: list[list[str]]) -> str:
    """A static table whose every header and cell is escaped text: a value like ``<b>`` or ``:smile:`` shows as
    typed (no markup, no emoji) and nothing in a contact can add HTML to the page. One line per row; a value too
    wide for its column ends in … and shows whole on hover (and in the contact's detail view)."""
    def cell(value: str) -> str:
        text = html.escape(value)
        return f'<td title="{text}">{text}</td>' if len(value) > LONG_CELL else f"<td>{text}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return (f'{_TABLE_CSS}<div class="{TABLE_CLASS}"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")
