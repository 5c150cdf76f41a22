"""Finding contacts by what an analyst types (the app's Contacts search): email, name or company contains the text,
ignoring case *and accents* (``jose`` finds José, ``MULLER`` finds Müller). SPEC §2's ``contains`` ignores case
only, and stays so; this is a separate, documented helper, not an operator.

One implementation for every back end: the ids are found by reading ``id, email, name, company`` from the database
in id order and folding both sides in Python (``fold``), so the memory and SQL back ends cannot disagree and the
answer is as fresh as the table; the page's rows are then read through the back end like any other contact.
Measured on SQLite with two cores shared (load average 5): 0.15–0.29 s a search at 20,000 contacts, 2.3–2.9 s at
200,000; docs/app.md."""
from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from .errors import ContactError

if TYPE_CHECKING:
    from .service import Segmenter

SEARCHED = ("email", "name", "company")
MAX_PAGE = 100  # a search answers a page at a time (a viewer's page limit, SPEC §10)
MAX_TEXT = 1_000  # characters, as a rule's string value
_SEP = "\x1f"  # joins a column's values so that an all-ASCII column is lower-cased in one call


def fold(text: str) -> str:
    """Text as a search compares it: compatibility-decomposed (NFKD), combining marks dropped, case-folded.
    ``José`` → ``jose``, ``MÜLLER`` → ``muller``, ``Straße`` → ``strasse``, ``ﬁ`` → ``fi``. Letters that are not a
    base letter plus marks (``ø``, ``ł``, ``đ``) stay themselves."""
    if text.isascii():
        return text.lower()  # the same as the steps below for ASCII, and most emails and names are ASCII
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _check(text: Any, limit: Any, offset: Any) -> tuple[str, int, int]:
    if not isinstance(text, str):
        raise ContactError(f"search text must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ContactError(f"search text is {len(text):,} characters; at most {MAX_TEXT:,}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ContactError(f"limit must be a whole number from 1 to {MAX_PAGE}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ContactError(f"offset must be a whole number ≥ 0, got {offset!r}")
    return text.strip(), limit, offset


def _fold_all(values: tuple[str | None, ...]) -> list[str]:
    """Every value of a column folded; an all-ASCII column in one C call, else each distinct value once."""
    texts = [v or "" for v in values]
    joined = _SEP.join(texts)
    if joined.isascii():
        folded = joined.lower().split(_SEP)
        if len(folded) == len(texts):  # no value held the separator itself
            return folded
    seen: dict[str, str] = {}
    return [seen[t] if t in seen else seen.setdefault(t, fold(t)) for t in texts]


def matching(seg: Segmenter, needle: str) -> list[tuple[int, str]]:
    """(id, email), ids ascending, of the contacts whose email, name or company contains ``needle`` once both are
    folded."""
    with seg.engine.connect() as conn:
        cursor = conn.connection.cursor()  # plain DB-API tuples: no Row objects for a whole-table read
        try:
            cursor.execute("SELECT id, email, name, company FROM contacts ORDER BY id")
            rows = cursor.fetchall()
        finally:
            cursor.close()
    if not rows:
        return []
    ids, emails, *others = zip(*rows)
    hits: set[int] = set()
    for values in (emails, *others):
        hits.update(j for j, t in enumerate(_fold_all(values)) if needle in t)
    return [(ids[j], emails[j]) for j in sorted(hits)]


def search_contacts(seg: Segmenter, text: Any, limit: Any = 25, offset: Any = 0) -> dict:
    """``{"count": n, "contacts": [...]}``: how many contacts match ``text`` and the page ``offset`` ..
    ``offset + limit`` of them in id order, each as ``contacts()`` shows it. Empty text (after trimming) matches
    every contact."""
    text, limit, offset = _check(text, limit, offset)
    if not text:
        return {"count": seg.total_contacts(), "contacts": seg.contacts([], limit=limit, offset=offset)}
    found = matching(seg, fold(text))
    page = [email for _id, email in found[offset:offset + limit]]
    # The page's rows through the back end, as contacts() shows every contact (emails are unique and stored
    # lower-cased, so `in` picks exactly these; one erased meanwhile is simply not there).
    rows = seg.contacts([{"field": "email", "operator": "in", "value": page}]) if page else []
    return {"count": len(found), "contacts": rows}
