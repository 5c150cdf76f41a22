"""Errors at the edge of the HTTP API: the core's ``SegmenterError`` family, request validation, routing and
database outages, each turned into ``{"detail", "problems"}`` with a 4xx/5xx status."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    ContactError,
    NoRecord,
    PermissionDenied,
    RuleError,
    SegmentConflict,
    SegmenterError,
    SegmentInUse,
    SegmentNotFound,
)
from ..rules import validate_name
from ..service import Segmenter
from ..values import printable, short_repr

log = logging.getLogger("segmenter.http")


# ---- the one table of statuses (SPEC §6); every route's SegmenterError goes through it ---------------------------

# Most specific first: the first class the error is an instance of gives the status. 400 (malformed JSON or
# parameters), 401 (the API key), 413 (body too large) and 503 (database down) come from the edge itself.
STATUS_BY_ERROR: tuple[tuple[type[SegmenterError], int], ...] = (
    (PermissionDenied, 403),
    (SegmentNotFound, 404),
    (NoRecord, 404),  # SPEC §6: no history record yet
    (SegmentInUse, 409),
    (SegmentConflict, 412),
    (RuleError, 422),
    (ContactError, 422),
    (SegmenterError, 400),
)
# A query, path or header value that does not parse is a 400 (malformed); a body is checked against the rules and
# answers 422 like a RuleError.
PARAMETER_LOCATIONS = ("query", "path", "header")


def status_for(exc: SegmenterError) -> int:
    """The HTTP status of a domain error, from ``STATUS_BY_ERROR``."""
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def error_response(status: int, problems: list[str] | str, headers: dict | None = None) -> JSONResponse:
    problems = [problems] if isinstance(problems, str) else list(problems) or ["bad request"]
    problems = [printable(p) for p in problems]  # a lone surrogate echoed from the input cannot be sent as UTF-8
    return JSONResponse({"detail": "; ".join(problems), "problems": problems}, status, headers=headers)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _where(loc: tuple) -> str:
    source, path = (loc[0], loc[1:]) if loc and loc[0] in ("query", "path", "body", "header") else ("", loc)
    name = ".".join(str(p) for p in path)
    if source == "body":
        return f"body field '{name}'" if name else "request body"
    return f"{source} parameter '{name}'" if source else (name or "request")


def _validation_message(err: dict) -> str:
    where, kind, got = _where(tuple(err.get("loc", ()))), err.get("type", ""), err.get("input")
    if kind == "missing":
        return f"{where} is required"
    if kind == "extra_forbidden":
        return f"{where} is not a known key"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{where} must be a whole number, got {short_repr(got)}"
    said = f", got {short_repr(got)}" if kind.endswith("_parsing") else ""
    return f"{where}: {err.get('msg', 'is invalid')}{said}"


_BODY_KEYS = {"preview": ("rules",), "overlap": ("a", "b"), "split": ("segment_id", "rules", "parts", "salt")}


def _core_problems(seg: Segmenter, body: Any, expected: tuple[str, ...]) -> list[str]:
    """The rule and name problems in a body as the core words them (SPEC §2), when the body is an object."""
    if isinstance(body, (bytes, str)):
        return ["the request body must be a JSON object sent with 'Content-Type: application/json'"]
    if not isinstance(body, dict):
        return [f"the request body must be a JSON object, got {_kind(body)}"]
    problems = []
    checks = (("name", validate_name), ("rules", seg.validate), ("a", seg.validate), ("b", seg.validate))
    for key, check in checks:
        if key in expected and isinstance(body.get(key), (list, str) if key != "name" else object):
            try:
                check(body[key])
            except RuleError as exc:
                problems += exc.problems
    unknown = sorted(set(body) - set(expected))
    if unknown and not problems:
        problems.append(f"unknown key {short_repr(unknown[0])} in the request body; expected: {', '.join(expected)}")
    return problems


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes ``{\"detail\", \"problems\"}`` with its status; never a traceback."""
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            reason = (bad_json[0].get("ctx") or {}).get("error", "cannot be parsed")
            loc = bad_json[0].get("loc", ())
            at = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            return error_response(400, f"malformed JSON body{at}: {reason}")
        if all(e.get("loc", ("",))[0] in PARAMETER_LOCATIONS for e in errors):  # SPEC §6: malformed parameters
            return error_response(400, [_validation_message(e) for e in errors])
        problems = []
        if any(e.get("loc", ("",))[0] == "body" and e.get("type") != "missing" for e in errors):
            expected = _BODY_KEYS.get(request.url.path.rsplit("/", 1)[-1], ("name", "rules"))
            seg = request.app.state.segmenter
            problems = await run_in_threadpool(_core_problems, seg, exc.body, expected)  # it reads the database
        return error_response(422, problems or [_validation_message(e) for e in errors])

    @app.exception_handler(SegmenterError)
    async def domain_error(request: Request, exc: SegmenterError):
        return error_response(status_for(exc), getattr(exc, "problems", None) or str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = str(exc.detail)
        if exc.status_code in (404, 405) and detail in ("Not Found", "Method Not Allowed"):  # routing, not ours
            detail = f"{detail.lower()}: {request.method} {request.url.path}; the endpoints are listed at /docs"
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError):
        log.warning("database unavailable: %s", exc)
        return error_response(503, "the database is unavailable right now; try again shortly")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")
