"""The "Excel" export (issue 14 item 18): UTF-8 with a byte order mark, asked for with ``bom=True`` (Python),
``--bom`` (CLI) or ``bom=true`` (HTTP); without it the CSV starts with the header, as SPEC §7 always said."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from helpers import LiveServer

import segmenter
from segmenter.http import create_app

ROOT = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"
CONTACTS = [{"email": "jose@example.com", "name": "José Müller", "company": "=Formula Inc", "status": "active"},
            {"email": "ana@example.com", "name": "Ana", "status": "active"}]
RULES = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def made(seg):
    seg.add_contacts(CONTACTS)
    return seg.create_segment("Active", RULES)


def _same_csv(with_bom: bytes, without: bytes) -> None:
    assert with_bom.startswith(BOM) and not without.startswith(BOM)
    assert with_bom[len(BOM):] == without  # the CSV itself is unchanged (formula guard, UTF-8, header)
    assert without.startswith(b"id,email,name,company,status,created_at")
    assert "José Müller".encode() in without and b"'=Formula Inc" in without


def test_python_export_starts_with_a_bom_only_when_asked(seg, made, tmp_path):
    plain, excel = io.BytesIO(), io.BytesIO()
    assert seg.export_csv(made["id"], plain) == 2
    assert seg.export_csv(made["id"], excel, bom=True) == 2
    _same_csv(excel.getvalue(), plain.getvalue())
    seg.export_csv(RULES, tmp_path / "excel.csv", bom=True, columns=["email", "name"])
    assert (tmp_path / "excel.csv").read_bytes().startswith(BOM + b"email,name\r\n")
    with pytest.raises(segmenter.SegmenterError, match="bom must be true or false"):
        seg.export_csv(RULES, io.BytesIO(), bom="yes")


def test_cli_export_bom_flag(sqlite_url, seg, made, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SEGMENTER_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    out = {}
    for name, extra in (("plain", []), ("excel", ["--bom"])):
        target = tmp_path / f"{name}.csv"
        result = subprocess.run([sys.executable, "-m", "segmenter", "export", str(made["id"]), "-o", str(target),
                                 "--database", sqlite_url, *extra], capture_output=True, text=True, cwd=ROOT,
                                env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        out[name] = target.read_bytes()
    _same_csv(out["excel"], out["plain"])


def test_http_csv_bom_parameter(sqlite_url, seg, made):
    server = LiveServer(create_app(sqlite_url))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            params = {"segment_id": made["id"], "format": "csv"}
            plain = api.get("/api/segments/contacts", params=params)
            excel = api.get("/api/segments/contacts", params={**params, "bom": "true"})
            assert plain.status_code == excel.status_code == 200
            _same_csv(excel.content, plain.content)
            assert api.get("/api/segments/contacts", params={**params, "bom": "maybe"}).status_code == 400
    finally:
        server.stop()
