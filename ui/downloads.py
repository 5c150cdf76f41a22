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
               descending: bool = False) -> Callable[[], bytes]:
    """A callable for st.download_button(data=...): the CSV is written when the user clicks, not on every rerun.
    The core writes it in batches straight into one buffer, so the result is never held twice as frames, and
    records the export in the audit trail under ``file_name`` (the name the browser saves). ``order_by`` and
    ``descending``: the order of the rows (SPEC §3 *Order*), the one the preview shows."""
    frozen = json.loads(json.dumps(rules))  # the rules as they are now, not as later edits leave them

    def build() -> bytes:
        buffer = io.BytesIO()
        seg.export_csv(frozen, buffer, file_name=file_name, order_by=order_by, descending=descending)
        return buffer.getvalue()

    return build


def rejected_csv(rejected: list) -> bytes:
    """Rejected import rows (line, reason) as CSV; reasons quote cells, so they get the formula guard too."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "reason"])
    writer.writerows([r.line, format_cell(r.reason)] for r in rejected)
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
