"""The HTTP API (SPEC §6): a thin FastAPI adapter over one Segmenter per app.
Errors come out as ``{"detail": "<message>", "problems": [...]}`` with a 4xx status, never a traceback."""
from __future__ import annotations

import contextlib
import hmac
import io
import logging

from typing import Any, Iterable, Iterator, Literal, Optional

import pandas as pd
from fastapi import Body, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import csvio
from .errors import ContactError, RuleError, SegmenterError, SegmentNotFound
from .operators import operators_for
from .rules import RulesModel, validate_name
from .service import Segmenter
from .settings import load as load_settings

log = logging.getLogger("segmenter.http")


SEED_RULES = [{"field": "status", "operator": "equals", "value": "active"},
              {"field": "company", "operator": "contains", "value": "Inc"}]
SEED_SEGMENT = {"name": "Active Enterprise", "rules": SEED_RULES}


# ---- shapes -------------------------------------------------------------------------------------------------

class SegmentIn(BaseModel):
    """A new segment: a name and its rules (all must match)."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEED_SEGMENT]})
    name: str = Field(description="1–200 characters after trimming; duplicates are allowed.")
    rules: RulesModel = Field(description="Rules and groups; a contact matches when all match. [] matches everyone.")


class SegmentPatch(BaseModel):
    """Fields to change; a missing or null field keeps its value."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Active Inc"}]})
    name: Optional[str] = None
    rules: Optional[RulesModel] = None


class PreviewIn(BaseModel):
    """Rules to count without saving a segment."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rules": SEED_RULES}]})
    rules: RulesModel


class SegmentOut(BaseModel):
    """A saved segment with its count as of this read (null when its rules name a field that no longer exists)."""
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": 3, "name": "Active Enterprise", "rules": SEED_RULES, "contacts_count": 142,
         "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z",
         "created_by": None, "updated_by": None}]})
    id: int
    name: str
    rules: RulesModel
    contacts_count: Optional[int]
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    created_by: Optional[str] = None
    updated_by: Optional[str] = None


class ContactOut(BaseModel):
    """A contact; custom fields follow as extra keys. Missing values are null."""
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": 12, "email": "alice@acme-inc.com", "name": "Alice Chen", "company": "Acme Inc",
         "status": "active", "created_at": "2026-01-05T10:00:00Z"}]})
    id: int
    email: str
    name: Optional[str] = None
    company: Optional[str] = None
    status: Optional[str] = None
    created_at: Optional[str] = None


class CountOut(BaseModel):
    contacts_count: int


class FieldOut(BaseModel):
    """A filterable field and the operators valid for its type."""
    name: str
    type: Literal["text", "number", "datetime", "boolean"]
    custom: bool
    operators: list[str]


class ErrorOut(BaseModel):
    """What went wrong: one message, and each problem on its own (e.g. one per invalid rule)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "detail": "rule 2: unknown operator 'contain' for text field 'company'; expected one of: equals, ...",
        "problems": ["rule 2: unknown operator 'contain' for text field 'company'; expected one of: equals, ..."]}]})
    detail: str
    problems: list[str]


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorOut} for code in codes}


def error_response(status: int, problems: list[str] | str, headers: dict | None = None) -> JSONResponse:
    problems = [problems] if isinstance(problems, str) else list(problems) or ["bad request"]
    return JSONResponse({"detail": "; ".join(problems), "problems": problems}, status, headers=headers)


# ---- errors at the edge -------------------------------------------------------------------------------------

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
        return f"{where} must be a whole number, got {got!r}"
    return f"{where}: {err.get('msg', 'is invalid')}" + (f", got {got!r}" if kind.endswith("_parsing") else "")


def _core_problems(seg: Segmenter, body: Any, expected: tuple[str, ...]) -> list[str]:
    """The rule and name problems in a body as the core words them (SPEC §2), when the body is an object."""
    if isinstance(body, (bytes, str)):
        return ["the request body must be a JSON object sent with 'Content-Type: application/json'"]
    if not isinstance(body, dict):
        return [f"the request body must be a JSON object, got {_kind(body)}"]
    problems = []
    for key, check in (("name", validate_name), ("rules", seg.validate)):
        if key in expected and body.get(key) is not None:
            try:
                check(body[key])
            except RuleError as exc:
                problems += exc.problems
    unknown = sorted(set(body) - set(expected))
    if unknown and not problems:
        problems.append(f"unknown key '{unknown[0]}' in the request body; expected: {', '.join(expected)}")
    return problems


def _install_error_handlers(app: FastAPI, seg: Segmenter) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            reason = (bad_json[0].get("ctx") or {}).get("error", "cannot be parsed")
            loc = bad_json[0].get("loc", ())
            at = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            return error_response(400, f"malformed JSON body{at}: {reason}")
        problems = []
        if any(e.get("loc", ("",))[0] == "body" and e.get("type") != "missing" for e in errors):
            expected = ("rules",) if request.url.path.endswith("/preview") else ("name", "rules")
            problems = await run_in_threadpool(_core_problems, seg, exc.body, expected)  # it reads the database
        return error_response(422, problems or [_validation_message(e) for e in errors])

    @app.exception_handler(RuleError)
    @app.exception_handler(ContactError)
    async def invalid_data(request: Request, exc: RuleError | ContactError):
        return error_response(422, exc.problems)

    @app.exception_handler(SegmentNotFound)
    async def not_found(request: Request, exc: SegmentNotFound):
        return error_response(404, str(exc))

    @app.exception_handler(SegmenterError)
    async def bad_request(request: Request, exc: SegmenterError):
        return error_response(400, str(exc))

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


# ---- the API key --------------------------------------------------------------------------------------------

class RequireKey:
    """ASGI middleware: every request — the API description included (SPEC §6) — needs
    ``Authorization: Bearer <key>``."""

    def __init__(self, app, key: str):
        self.app, self.key = app, key.encode()

    def _allowed(self, scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._allowed(scope):
            response = error_response(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                      {"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        await self.app(scope, receive, send)


# ---- CSV streaming ------------------------------------------------------------------------------------------

def _csv_text(columns: list[str], frames: list[pd.DataFrame]) -> str:
    buffer = io.StringIO()
    csvio.write_csv(buffer, columns, frames)
    return buffer.getvalue()


def _page(frames: Iterable[pd.DataFrame], limit: int | None, offset: int) -> Iterator[pd.DataFrame]:
    """The rows ``offset`` .. ``offset + limit`` of a sequence of frames, still batch by batch."""
    left = limit
    for frame in frames:
        if offset >= len(frame):
            offset -= len(frame)
            continue
        frame, offset = frame.iloc[offset:], 0
        if left is not None:
            frame, left = frame.iloc[:left], left - min(left, len(frame))
        yield frame
        if left == 0:
            return


def csv_chunks(columns: list[str], frames: Iterable[pd.DataFrame]) -> Iterator[str]:
    """CSV text batch by batch, formatted (and formula-guarded) by csvio.write_csv exactly as a file export."""
    header = _csv_text(columns, [])
    yield header
    for frame in frames:
        yield _csv_text(columns, [frame])[len(header):]  # the same header again; drop it


# ---- the app ------------------------------------------------------------------------------------------------

def create_app(seg_or_url: Segmenter | str | None = None, *, api_key: str | None = None) -> FastAPI:
    """The API over ``seg_or_url`` (a Segmenter, a database URL, or None for the default database).
    ``api_key`` (else ``$SEGMENTER_API_KEY``; empty means none) makes every request need it."""
    owned = not isinstance(seg_or_url, Segmenter)
    seg = Segmenter(seg_or_url) if owned else seg_or_url
    key = api_key if api_key is not None else load_settings().api_key
    # Declares the bearer scheme in the OpenAPI schema; RequireKey does the checking, before any parsing.
    security = [Security(HTTPBearer(auto_error=False, description="The server's SEGMENTER_API_KEY"))] if key else []
    app = FastAPI(title="Segmenter API", version="1.0", separate_input_output_schemas=False,
                  description="Dynamic audience segments over a contacts database. See docs/api.md.",
                  dependencies=security, responses=_errors(401) if key else None, lifespan=_lifespan(seg, owned))
    app.state.segmenter = seg
    _install_error_handlers(app, seg)
    if key:
        app.add_middleware(RequireKey, key=key)
    _add_routes(app, seg)
    return app


def _lifespan(seg: Segmenter, owned: bool):
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if owned:  # a Segmenter handed in belongs to the caller
            seg.close()
    return lifespan


def _add_routes(app: FastAPI, seg: Segmenter) -> None:
    segment_routes = dict(response_model=SegmentOut, response_model_exclude_unset=True)

    @app.get("/api/segments", response_model=list[SegmentOut], response_model_exclude_unset=True,
             tags=["segments"], summary="List saved segments with their counts, ordered by id")
    def list_segments():
        return seg.list_segments()

    @app.post("/api/segments", status_code=201, responses=_errors(400, 422), tags=["segments"],
              summary="Save a segment", **segment_routes)
    def create_segment(body: SegmentIn = Body(openapi_examples={"seed": {"value": SEED_SEGMENT}})):
        return seg.create_segment(body.name, body.rules)

    @app.get("/api/segments/contacts", response_model=list[ContactOut], tags=["segments"],
             summary="The contacts of a saved segment, as of now, ordered by id (JSON or CSV)",
             responses={**_errors(400, 404, 422), 200: {
                 "content": {"text/csv": {"schema": {"type": "string"}}},
                 "headers": {"X-Total-Count": {"description": "JSON only: how many contacts match in all",
                                               "schema": {"type": "integer"}}}}})
    def segment_contacts(segment_id: int = Query(description="The segment's id"),
                         limit: Optional[int] = Query(None, ge=0, description="At most this many contacts"),
                         offset: int = Query(0, ge=0, description="Skip this many contacts first"),
                         format: Literal["json", "csv"] = Query("json", description="csv streams a download")):
        if format == "csv":
            columns = seg.export_columns()
            frames = seg.export_frames(segment_id)  # raises SegmentNotFound now, before the response starts
            return StreamingResponse(csv_chunks(columns, _page(frames, limit, offset)), media_type="text/csv",
                                     headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'})
        total = seg.get_segment(segment_id)["contacts_count"]
        contacts = seg.get_segment_contacts(segment_id, limit=limit, offset=offset)
        # Already JSON-ready: skip re-validating a possibly large list against the response model.
        return JSONResponse(contacts, headers={"X-Total-Count": str(total)} if total is not None else None)

    @app.post("/api/segments/preview", response_model=CountOut, responses=_errors(400, 422), tags=["segments"],
              summary="Count the contacts that match rules, without saving")
    def preview(body: PreviewIn = Body(openapi_examples={"seed": {"value": {"rules": SEED_RULES}}})):
        return {"contacts_count": seg.count(body.rules)}

    @app.get("/api/segments/{segment_id}", responses=_errors(404, 422), tags=["segments"],
             summary="One saved segment with its count as of now", **segment_routes)
    def get_segment(segment_id: int):
        return seg.get_segment(segment_id)

    @app.patch("/api/segments/{segment_id}", responses=_errors(400, 404, 422), tags=["segments"],
               summary="Rename a segment or change its rules", **segment_routes)
    def update_segment(segment_id: int, body: SegmentPatch):
        return seg.update_segment(segment_id, name=body.name, rules=body.rules)

    @app.delete("/api/segments/{segment_id}", status_code=204, response_class=Response,
                responses=_errors(404, 422), tags=["segments"], summary="Delete a segment")
    def delete_segment(segment_id: int):
        seg.delete_segment(segment_id)
        return Response(status_code=204)

    @app.get("/api/fields", response_model=list[FieldOut], tags=["fields"],
             summary="Every filterable field (core, then custom) with its type and valid operators")
    def fields():
        return [{**f, "operators": operators_for(f["type"])} for f in seg.fields()]
