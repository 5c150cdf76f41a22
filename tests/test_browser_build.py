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
    table = page.get_by_test_id("stHtml").locator("table")
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


# ---- item 14: nothing cut off at 800 px wide ---------------------------------------------------------------------

CLIPPED_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const width = document.documentElement.clientWidth;
  const out = [];
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const el of main.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, '
                                         + 'button, button *')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || r.right > width + 0.5 || r.left < -0.5)
      out.push({text: el.innerText.slice(0, 60), scroll: el.scrollWidth, client: el.clientWidth,
                left: Math.round(r.left), right: Math.round(r.right), width});
  }
  return out;
}"""


def test_nothing_is_cut_off_at_800_px_wide(app_server, page):
    """Item 14: at 800 px the sidebar squeezed the page: the count showed as "2,…" and buttons were cut."""
    from playwright.sync_api import expect

    base, url = app_server
    with segmenter.connect(url) as seg:
        total = seg.total_contacts()
        n = seg.count(ACTIVE)
        made = seg.create_segment("A segment with a rather long name for a narrow screen", ACTIVE)
    page.set_viewport_size({"width": 800, "height": 720})
    for address, count in ((base, total), (f"{base}/?segment={made['id']}", n)):
        page.goto(address)
        expect(page.get_by_role("heading", name="Build a segment")).to_be_visible()
        value = page.get_by_test_id("stMain").get_by_test_id("stMetricValue").first
        expect(value).to_have_text(f"{count:,}")
        _idle(page)
        # the whole page is drawn: the first and the last buttons of the builder, and the rule row's value box
        expect(page.get_by_role("button", name="Add rule", exact=True)).to_be_visible()
        expect(page.locator(".st-key-export_csv button")).to_be_attached()
        expect(page.locator("[data-testid='stSkeleton']")).to_have_count(0)
        page.wait_for_timeout(500)  # layout settles after the last delta
        page.screenshot(path=str(ARTIFACTS / f"browser-800px-{'segment' if count == n else 'new'}.png"),
                        full_page=True)
        clipped = page.evaluate(CLIPPED_JS)
        assert clipped == [], "\n".join(map(str, clipped))
        box = value.bounding_box()
        assert box and box["x"] + box["width"] <= 800


def test_nothing_is_cut_off_on_segments_at_800_px_wide(app_server, page):
    """Item 14 on the Segments page: the chosen segment's actions (open, duplicate, rename, delete) at 800 px."""
    from playwright.sync_api import expect

    base, url = app_server
    with segmenter.connect(url) as seg:
        made = seg.create_segment("Segments page at 800 px", ACTIVE)
    page.set_viewport_size({"width": 800, "height": 720})
    page.goto(f"{base}/segments")
    expect(page.get_by_role("heading", name="Saved segments")).to_be_visible()
    _idle(page)
    row = page.locator(f".st-key-segment_row_{made['id']}")
    expect(row.get_by_role("button", name="Delete")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "browser-800px-segments.png"), full_page=True)
    clipped = page.evaluate(CLIPPED_JS)
    assert clipped == [], "\n".join(map(str, clipped))
