"""Random samples for A/B tests and holdouts (SPEC §9): the `sample` pseudo-field and its one operator `in_range`.

A contact's sample point is ``p = 100 × n / 2**64`` with ``n`` the first 8 bytes (big-endian) of
``sha256((salt + ":" + email).encode("utf-8"))``. ``A <= p < B`` is decided on integers, never floats:
``A·2⁶⁴ <= 100·n < B·2⁶⁴`` ⇔ ``lo <= n < hi`` with ``lo = ⌈A·2⁶⁴/100⌉`` and ``hi = ⌈B·2⁶⁴/100⌉`` (A and B exactly as
the numbers they are: a float is its exact binary value). Every back end compares ``n`` with ``lo``/``hi``: the
memory back end on integers, SQL on the 16 hex digits of ``n`` (fixed width, so text order is number order)."""
from __future__ import annotations

import hashlib
import math
import threading
import weakref
from collections import OrderedDict
from fractions import Fraction
from typing import Any

import numpy as np

from .operators import ValueProblem

MAX_SALT = 200
TWO_64 = 2**64
_KEYS = ("salt", "from", "to")


def _describe(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def check_salt(salt: Any) -> str:
    """A salt: a non-empty string of at most 200 characters that UTF-8 can carry (no lone surrogate, no NUL)."""
    if not isinstance(salt, str) or salt == "":
        raise ValueProblem(f"needs a salt that is a non-empty string, got {_describe(salt)}")
    if len(salt) > MAX_SALT:
        raise ValueProblem(f"salt is {len(salt):,} characters; at most {MAX_SALT} are allowed")
    if "\x00" in salt:
        raise ValueProblem("salt contains a NUL character")
    try:
        salt.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueProblem("salt contains a lone surrogate, which UTF-8 cannot carry") from None
    return salt


def _percent(raw: Any, key: str) -> int | float:
    finite = isinstance(raw, int) or (isinstance(raw, float) and math.isfinite(raw))
    if isinstance(raw, bool) or not finite:
        raise ValueProblem(f"needs '{key}' to be a number from 0 to 100, got {_describe(raw)}")
    if not 0 <= raw <= 100:
        raise ValueProblem(f"needs '{key}' from 0 to 100, got {raw!r}")
    return raw


class SampleRange:
    """A checked ``{"salt", "from", "to"}``: the salt and the integer bounds ``lo <= n < hi``."""

    __slots__ = ("hi", "lo", "salt", "start", "stop")

    def __init__(self, salt: str, start: float, stop: float):
        self.salt, self.start, self.stop = salt, start, stop
        self.lo = threshold(start)
        self.hi = threshold(stop)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SampleRange) and (self.salt, self.lo, self.hi) == (other.salt, other.lo, other.hi)

    def __hash__(self) -> int:
        return hash((self.salt, self.lo, self.hi))

    def __repr__(self) -> str:
        return f"SampleRange({self.salt!r}, {self.start!r}, {self.stop!r})"


def check_range(raw: Any) -> SampleRange:
    """``{"salt": S, "from": A, "to": B}`` with S a salt and 0 <= A < B <= 100."""
    if not isinstance(raw, dict):
        raise ValueProblem(f'needs {{"salt": S, "from": A, "to": B}}, got {_describe(raw)}')
    missing = [k for k in _KEYS if k not in raw]
    extra = sorted(set(raw) - set(_KEYS), key=str)
    if missing or extra:
        what = f"is missing '{missing[0]}'" if missing else f"has an unknown key {extra[0]!r}"
        raise ValueProblem(f'needs {{"salt": S, "from": A, "to": B}}; the value {what}')
    salt = check_salt(raw["salt"])
    a, b = _percent(raw["from"], "from"), _percent(raw["to"], "to")
    if not a < b:
        raise ValueProblem(f"needs 'from' < 'to', got from {a!r} and to {b!r}")
    return SampleRange(salt, a, b)


def threshold(percent: float) -> int:
    """The least integer ``n`` with ``percent·2⁶⁴ <= 100·n``, exactly (a float is taken at its exact value)."""
    return math.ceil(Fraction(percent) * TWO_64 / 100)


def sample_number(salt: str, email: str) -> int:
    """``n``: the first 8 bytes of sha256(salt + ":" + email), big-endian."""
    return int.from_bytes(hashlib.sha256((salt + ":" + email).encode("utf-8")).digest()[:8], "big")


def sample_point(salt: str, email: str) -> float:
    """``p = 100 × n / 2**64`` as a float, for display only; decisions use the integers."""
    return 100 * sample_number(salt, email) / TWO_64


def sample_key(salt: str | None, email: str | None) -> str | None:
    """``n`` as 16 lower-case hex digits: the SQL form (registered on every SQLite connection)."""
    if salt is None or email is None:
        return None
    return hashlib.sha256((salt + ":" + email).encode("utf-8")).hexdigest()[:16]


def hex_bound(n: int) -> str:
    return f"{n:016x}"


# ---- the memory back end: sample numbers per email, cached by salt -------------------------------------------

_CACHED_SALTS = 4
_cache: weakref.WeakKeyDictionary[Any, OrderedDict[str, tuple[int, np.ndarray]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _numbers(values: list[str], salt: str) -> np.ndarray:
    prefix = (salt + ":").encode("utf-8")
    sha = hashlib.sha256
    digest = b"".join([sha(prefix + v.encode("utf-8")).digest()[:8] for v in values])
    return np.frombuffer(digest, dtype=">u8").astype(np.uint64)


def dictionary_numbers(column: Any, salt: str) -> np.ndarray:
    """``n`` for every value of a text column's dictionary (the email column), in code order. Cached per salt and
    column generation; values added since are hashed on their own (a dictionary only grows within a generation)."""
    with _cache_lock:
        per_salt = _cache.setdefault(column, OrderedDict())
        generation, numbers = per_salt.get(salt, (None, None))
    size = column.size
    if generation != column.generation or numbers is None:
        numbers = np.empty(0, dtype=np.uint64)
    if len(numbers) < size:
        new = column.dictionary().slice(len(numbers)).to_pylist()
        numbers = np.concatenate([numbers, _numbers([v or "" for v in new], salt)])
    with _cache_lock:
        per_salt[salt] = (column.generation, numbers)
        per_salt.move_to_end(salt)
        while len(per_salt) > _CACHED_SALTS:
            per_salt.popitem(last=False)
    return numbers


def memory_mask(email_column: Any, salt: str, lo: int, hi: int) -> np.ndarray:
    """Rows of the snapshot whose email's sample number is in ``[lo, hi)``."""
    numbers = dictionary_numbers(email_column, salt)
    codes = email_column.codes
    per_row = numbers[np.maximum(codes, 0)] if len(numbers) else np.zeros(len(codes), dtype=np.uint64)
    mask = per_row >= np.uint64(lo)
    if hi < TWO_64:
        mask &= per_row < np.uint64(hi)
    return mask & (codes >= 0)


def split_ranges(parts: Any) -> list[tuple[str, int, int]]:
    """``{name: percent}`` → ``[(name, from, to)]``: whole percents >= 1 summing to 100, in the given order."""
    from .errors import RuleError

    if isinstance(parts, (list, tuple)):  # [{"name", "percent"}] (the HTTP form) or [(name, percent)]
        pairs = []
        for i, p in enumerate(parts, 1):
            if isinstance(p, dict) and set(p) == {"name", "percent"}:
                pairs.append((p["name"], p["percent"]))
            elif isinstance(p, (list, tuple)) and len(p) == 2:
                pairs.append((p[0], p[1]))
            else:
                raise RuleError(f'part {i}: must be {{"name": N, "percent": P}}, got {_describe(p)}')
    elif isinstance(parts, dict):
        pairs = list(parts.items())
    else:
        raise RuleError(f"parts must be a mapping of part name → whole percent, got {_describe(parts)}")
    if not pairs:
        raise RuleError("parts must name at least one part")
    problems, seen, out, start = [], set(), [], 0
    for i, (name, pct) in enumerate(pairs, 1):
        if not isinstance(name, str) or not name.strip():
            problems.append(f"part {i}: the name must be a non-empty string, got {_describe(name)}")
        elif len(name) > 200:
            problems.append(f"part {i}: the name is {len(name):,} characters; at most 200 are allowed")
        elif name in seen:
            problems.append(f"part {i}: the name {name!r} is given twice")
        seen.add(name)
        if isinstance(pct, float) and pct.is_integer():
            pct = int(pct)
        if isinstance(pct, bool) or not isinstance(pct, int) or pct < 1:
            problems.append(f"part {i} ({name!r}): the percent must be a whole number >= 1, got {_describe(pct)}")
            continue
        out.append((name, start, start + pct))
        start += pct
    if not problems and start != 100:
        problems.append(f"the parts' percents must add up to 100, got {start}")
    if problems:
        raise RuleError(problems)
    return out


def sample_rule(salt: str, start: float, stop: float) -> dict:
    return {"field": "sample", "operator": "in_range", "value": {"salt": salt, "from": start, "to": stop}}
