"""What the download buttons serve: a segment's CSV (built by the core's streaming, formula-guarded writer only
when the button is clicked), rejected import rows, and segment definitions as JSON."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from segmenter import Segmenter
from segmenter.csv_export import format_cell


def csv_export(seg: Segmenter, rules: list, file_name: str | None = None, *, order_by: str | None = None,
               descending: bool = False, columns: list[str] | None = None,
               bom: bool = False) -> Callable[[], bytes]:
    """A callable for st.download_button(data=...): the CSV is written when the user clicks, not on every rerun.
    The core writes it in batches straight into one buffer, so the result is never held twice as frames, and
    records the export in the audit trail under ``file_name`` (the name the browser saves). ``order_by`` and
    ``descending``: the order of the rows (SPEC §3 *Order*), the one the preview shows; ``columns``: the fields
    written, in order (default: all); ``bom``: UTF-8 with a byte order mark, for Excel."""
    frozen = json.loads(json.dumps(rules))  # the rules as they are now, not as later edits leave them

    def build() -> bytes:
        buffer = io.BytesIO()
        seg.export_csv(frozen, buffer, file_name=file_name, order_by=order_by, descending=descending,
                       columns=list(columns) if columns else None, bom=bom)
        return buffer.getvalue()

    return build


def rejected_csv(rejected: list, headers: list[str] | None = None) -> bytes:
    """Rejected import rows as CSV to fix and import again: the file's own columns with each row as it was (the
    cells the core kept in ``RejectedRow.cells``), then ``line`` and ``reason``. Every cell gets the formula guard
    (the importer takes it off again, so fix → import round-trips). Extra cells beyond the header go in columns
    ``extra 1``, ``extra 2``…; when the file has its own ``line`` or ``reason`` column, ours are ``rejected line`` and
    ``rejected reason``."""
    headers = list(headers or [])
    width = max([len(headers)] + [len(getattr(r, "cells", ())) for r in rejected])
    columns = headers + [f"extra {i}" for i in range(1, width - len(headers) + 1)]
    taken = {h.strip().lower() for h in columns}
    ours = [f"rejected {c}" if c in taken else c for c in ("line", "reason")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([format_cell(c) for c in columns] + ours)
    for r in rejected:
        cells = list(getattr(r, "cells", ()))
        writer.writerow([format_cell(c) for c in cells + [""] * (width - len(cells))] + [r.line, format_cell(r.reason)])
    return out.getvalue().encode("utf-8")


def definitions_json(segments: list[dict]) -> str:
    """Segment definitions to share or back up: ``[{"id", "name", "rules"}]``. The id lets an import link the
    ``in_segment`` rules among them to the new copies (counts belong to a database and are left out)."""
    return json.dumps([{"id": s["id"], "name": s["name"], "rules": s["rules"]} for s in segments], indent=2,
                      ensure_ascii=False)


def read_definitions(data: object) -> list[dict]:
    """Parsed JSON → definitions; accepts one ``{"name", "rules"}`` object or a list of them. ValueError if neither."""
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) and "rules" in i for i in items):
        raise ValueError('expected a list of {"name": ..., "rules": [...]} objects, as the export writes')
    return items
