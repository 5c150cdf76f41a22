"""The endpoints of the HTTP API (SPEC §6): one APIRouter, one module-level function per route, the Segmenter
handed in as a dependency (the one the app was made with, kept in ``app.state``)."""
from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from .. import access
from ..csv_export import csv_batches
from ..errors import RuleError
from ..operators import operators_for
from ..service import MAX_PAGE, Segmenter
from .auth import CALLER
from .etags import etag, expected_version
from .schemas import (
    SEED_RULES,
    SEED_SEGMENT,
    ChangesOut,
    ContactOut,
    CountOut,
    DeletedOut,
    FieldOut,
    HistoryOut,
    OverlapIn,
    OverlapOut,
    PreviewIn,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SplitIn,
    SplitPartOut,
    error_responses,
)


def get_segmenter(request: Request) -> Segmenter:
    """The Segmenter a request acts through: the app's one, as the API key's name and role (SPEC §10: checked in
    the core too), or, on a server without keys, as the server's own identity ($SEGMENTER_USER, else the OS user)
    with every right."""
    seg: Segmenter = request.app.state.segmenter
    key = request.scope.get(CALLER)
    if key is not None:
        return seg.as_user(key.name, key.role, via="http")
    return seg.as_user(seg.user or access.os_user(), access.ADMIN, via="http")


SegmenterDep = Annotated[Segmenter, Depends(get_segmenter)]
class _Request(Request):
    """A request whose JSON body is parsed in a worker thread: 2 MB of JSON takes long enough to parse that other
    clients would wait for it if the event loop did it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = await run_in_threadpool(json.loads, await self.body())
        return self._json


class _Route(APIRoute):
    """Routes that hand FastAPI the ``_Request`` above (FastAPI's documented way to customise the request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def off_loop_json(request: Request) -> Response:
            return await handler(_Request(request.scope, request.receive))

        return off_loop_json


router = APIRouter(route_class=_Route)
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "content": {"text/csv": {"schema": {"type": "string"}}},
    "headers": {"X-Total-Count": {"description": "JSON only: how many contacts match in all",
                                  "schema": {"type": "integer"}}}}}


@router.get("/api/segments", response_model=list[SegmentOut], response_model_exclude_unset=True,
            tags=["segments"], summary="List saved segments with their counts, ordered by id")
def list_segments(seg: SegmenterDep) -> Any:
    return seg.list_segments()


@router.post("/api/segments", status_code=201, responses=error_responses(400, 422), tags=["segments"],
             summary="Save a segment", response_model=SegmentOut, response_model_exclude_unset=True)
def create_segment(seg: SegmenterDep,
                   body: SegmentIn = Body(openapi_examples={"seed": {"value": SEED_SEGMENT}})) -> Any:
    return seg.create_segment(body.name, body.rules)


@router.get("/api/segments/contacts", response_model=list[ContactOut], tags=["segments"],
            summary="The contacts of a saved segment, as of now, ordered by id or order_by (JSON or CSV)",
            responses={**error_responses(400, 404, 422), **_CSV_RESPONSE})
def segment_contacts(seg: SegmenterDep,
                     segment_id: int = Query(description="The segment's id"),
                     limit: int | None = Query(None, ge=0, le=MAX_PAGE, description="At most this many contacts"),
                     offset: int = Query(0, ge=0, le=MAX_PAGE, description="Skip this many contacts first"),
                     format: Literal["json", "csv"] = Query("json", description="csv streams a download"),
                     order_by: str | None = Query(None, description="Sort the whole result by this field (empty "
                                                  "values last, ties by id); default: id"),
                     desc: bool = Query(False, description="With order_by: largest (or last) first"),
                     columns: str | None = Query(None, description="Only these fields, in this order: a,b,c "
                                                 "(default: core fields, then custom fields)"),
                     bom: bool = Query(False, description="With format=csv: start with a UTF-8 byte order mark "
                                       "(Excel reads the file as UTF-8 only with it)")) -> Any:
    names = seg.export_columns(columns) if columns is not None else None
    if format == "csv":
        name = f"segment-{segment_id}.csv"
        # Checked now (unknown segment, field or column), before the response starts; audited with the rows sent.
        frames = seg.export_frames(segment_id, order_by=order_by, descending=desc, file_name=name, limit=limit,
                                   offset=offset)
        return StreamingResponse(csv_batches(names or seg.export_columns(), frames, bom=bom), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})
    # Checked now (unknown segment, order_by, a viewer's page size), before the response starts; then streamed a
    # batch at a time, so a page of a million contacts never sits whole in the server's memory.
    batches = seg.contact_batches(segment_id, limit=limit, offset=offset, order_by=order_by, descending=desc)
    total = seg.get_segment(segment_id)["contacts_count"]
    return StreamingResponse(json_array(batches, names), media_type="application/json",
                             headers={"X-Total-Count": str(total)} if total is not None else None)


def json_array(batches: Iterable[list[dict]], names: list[str] | None) -> Iterator[bytes]:
    """One JSON array written a batch at a time, encoded as JSONResponse would (UTF-8, no NaN, compact)."""
    yield b"["
    first = True
    for records in batches:
        if names is not None:
            records = [{k: r.get(k) for k in names} for r in records]
        if not records:
            continue
        body = json.dumps(records, ensure_ascii=False, allow_nan=False, separators=(",", ":"))[1:-1]
        yield (body if first else "," + body).encode("utf-8")
        first = False
    yield b"]"


@router.delete("/api/contacts", response_model=DeletedOut, responses=error_responses(400, 422), tags=["contacts"],
               summary="Erase contacts by email (SPEC §1): gone from every later evaluation, cache and record")
def delete_contacts(seg: SegmenterDep,
                    email: list[str] = Query(description="An email to erase; repeat for several")) -> Any:
    return {"deleted": seg.delete_contacts(email)}


@router.post("/api/segments/preview", response_model=CountOut, responses=error_responses(400, 422),
             tags=["segments"], summary="Count the contacts that match rules, without saving")
def preview(seg: SegmenterDep,
            body: PreviewIn = Body(openapi_examples={"seed": {"value": {"rules": SEED_RULES}}})) -> Any:
    return {"contacts_count": seg.count(body.rules)}


@router.post("/api/segments/overlap", response_model=OverlapOut, responses=error_responses(400, 404, 422),
             tags=["segments"], summary="Compare two segments (ids or rules): A only, both, B only, Jaccard")
def overlap(seg: SegmenterDep, body: OverlapIn) -> Any:
    return seg.overlap(body.a, body.b)


@router.post("/api/segments/split", response_model=list[SplitPartOut], responses=error_responses(400, 404, 422),
             tags=["segments"], summary="Split a segment into random parts (A/B tests, holdouts) by the sample hash")
def split(seg: SegmenterDep, body: SplitIn) -> Any:
    if (body.segment_id is None) == (body.rules is None):
        raise RuleError("give either segment_id or rules (one of them)")
    source = body.segment_id if body.segment_id is not None else body.rules
    return seg.split(source, [(p.name, p.percent) for p in body.parts], salt=body.salt)


@router.get("/api/segments/{segment_id}/history", response_model=list[HistoryOut],
            responses=error_responses(400, 404, 422), tags=["segments"],
            summary="A segment's membership records, oldest first")
def segment_history(seg: SegmenterDep, segment_id: int) -> Any:
    return seg.history(segment_id)


@router.get("/api/segments/{segment_id}/changes", response_model=ChangesOut, responses=error_responses(400, 404, 422),
            tags=["segments"], summary="Who entered and left since the latest record at or before `since`")
def segment_changes(seg: SegmenterDep, segment_id: int, since: str | None = Query(
        None, description="ISO 8601 (YYYY-MM-DD, or a datetime with or without offset; naive is UTC)")) -> Any:
    return seg.changes(segment_id, since)


@router.get("/api/segments/{segment_id}", responses=error_responses(400, 404, 422), tags=["segments"],
            summary="One saved segment with its count as of now (ETag: its version)", response_model=SegmentOut,
            response_model_exclude_unset=True)
def get_segment(seg: SegmenterDep, segment_id: int, response: Response) -> Any:
    found = seg.get_segment(segment_id)
    response.headers["ETag"] = etag(found["version"])
    return found


IfMatch = Annotated[str | None, Header(alias="If-Match", description='"N" (the ETag read) or *: anything else '
                                                                     "answers 412")]


@router.patch("/api/segments/{segment_id}", responses=error_responses(400, 404, 412, 422), tags=["segments"],
              summary="Rename a segment or change its rules (If-Match: only from that version)",
              response_model=SegmentOut, response_model_exclude_unset=True)
def update_segment(seg: SegmenterDep, segment_id: int, body: SegmentPatch, response: Response,
                   if_match: IfMatch = None) -> Any:
    updated = seg.update_segment(segment_id, name=body.name, rules=body.rules,
                                 expected_version=expected_version(if_match, segment_id))
    response.headers["ETag"] = etag(updated["version"])
    return updated


@router.delete("/api/segments/{segment_id}", status_code=204, response_class=Response,
               responses=error_responses(400, 404, 409, 412, 422), tags=["segments"],
               summary="Delete a segment (If-Match: only at that version)")
def delete_segment(seg: SegmenterDep, segment_id: int, if_match: IfMatch = None) -> Response:
    seg.delete_segment(segment_id, expected_version=expected_version(if_match, segment_id))
    return Response(status_code=204)


@router.get("/api/status", tags=["status"],
            summary="Which back end answers counts and why; a background snapshot load's progress (rows / total)")
def status(seg: SegmenterDep) -> dict[str, Any]:
    return {"contacts": seg.total_contacts(), **seg.backend_status()}


@router.get("/api/fields", response_model=list[FieldOut], tags=["fields"],
            summary="Every filterable field (core, then custom) with its type and valid operators")
def fields(seg: SegmenterDep) -> Any:
    return [{**f, "operators": operators_for(f["type"])} for f in seg.fields()]
