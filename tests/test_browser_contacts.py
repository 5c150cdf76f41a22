"""A contact's detail view and erasure in a real browser (issue 14 item 18): search with accents ignored, open the
contact from the results, see every field, erase it after a confirmation that names it, and see the count drop."""
from __future__ import annotations

import re

import pytest
from test_browser import WAIT_MS, _idle, _set_text, app_server, page  # noqa: F401  (fixtures)

import segmenter

pytestmark = pytest.mark.browser


def test_open_a_contact_from_the_search_and_erase_it(app_server, page):  # noqa: F811
    from playwright.sync_api import expect

    base, url = app_server
    with segmenter.connect(url) as seg:
        seg.add_contacts([{"email": "jn.browser@example.com", "name": "José Ñúñez", "company": "Café Olé",
                           "plan_tier": "gold"}])
        total = seg.total_contacts()
        contact = seg.get_contact("jn.browser@example.com")
    page.goto(f"{base}/contacts")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    sidebar_count = page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue").first
    expect(sidebar_count).to_have_text(f"{total:,}")
    _set_text(page.get_by_placeholder("e.g. acme or josé"), "jose nunez")  # no accents typed
    _idle(page)
    expect(page.get_by_text("Contacts 1–1 of 1, ordered by id")).to_be_visible()

    box = page.get_by_test_id("stSelectbox").filter(has_text="Open a contact")
    box.click()
    page.get_by_role("option", name="jn.browser@example.com — José Ñúñez").click()
    _idle(page)
    expect(page.get_by_role("heading", name=f"José Ñúñez — jn.browser@example.com (#{contact['id']})")).to_be_visible()
    # the address carries it (a link to this contact); the browser updates it after the rerun, so wait for it
    expect(page).to_have_url(re.compile(rf"[?&]contact={contact['id']}$"))
    fields = page.get_by_test_id("stDataFrame").first
    expect(fields).to_be_visible()
    page.screenshot(path="test-artifacts/contact-detail.png", full_page=True)

    page.get_by_role("button", name="Erase this contact…").click()
    _idle(page)
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text(
        f"Erase José Ñúñez — jn.browser@example.com (#{contact['id']})?")
    with segmenter.connect(url) as seg:
        assert seg.total_contacts() == total  # nothing before the yes
    page.get_by_role("button", name="Yes, erase jn.browser@example.com").click()
    _idle(page)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        f"jn.browser@example.com (#{contact['id']}) was erased")
    expect(sidebar_count).to_have_text(f"{total - 1:,}", timeout=WAIT_MS)  # the count drops
    expect(page).not_to_have_url(re.compile(r"contact="))
    with segmenter.connect(url) as seg:
        assert seg.total_contacts() == total - 1
        assert seg.search_contacts("jose nunez")["count"] == 0
