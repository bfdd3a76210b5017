"""The web app in a real headless Chromium (Debian's, driven by Playwright for Python).

Each page is signed in to, worked and checked as a person would; every page is screenshot at
1280×800 and at 390×844 into ``test-output/screenshots`` and checked with axe-core (vendored in
``tests/browser/vendor``) for serious or critical accessibility violations.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from store.schema import audit_log
from tests.web.conftest import PASSWORD

playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python not installed"
)
AXE = Path(__file__).parents[1] / "browser" / "vendor" / "axe.min.js"
SHOTS = Path(
    os.environ.get(
        "CLAIMRISK_SCREENSHOTS", Path(__file__).parents[2] / "test-output" / "screenshots"
    )
)
SIZES = {"wide": (1280, 800), "phone": (390, 844)}
#: The outermost elements that stick out of the window, for the failure message.
WIDE = """[...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect(); const p = e.parentElement.getBoundingClientRect();
  return r.right > window.innerWidth + 1 && p.right <= window.innerWidth + 1;
}).slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width))"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium here: install Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, site):
    base, _, _ = site
    context = browser.new_context(
        base_url=base,
        viewport={"width": 1280, "height": 800},
        bypass_csp=True,
        accept_downloads=True,
    )
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(tab, role: str) -> None:
    tab.goto("/")
    tab.get_by_label("Username").fill(role)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(lambda url: not url.endswith("/") and "/sign-in" not in url)


def check_page(tab, name: str) -> None:
    """Screenshots at both sizes, no sideways scrolling on a phone, and no serious axe finding."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        tab.set_viewport_size({"width": width, "height": height})
        tab.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (
            f"{name} scrolls sideways by {overflow}px at {width}×{height}: {tab.evaluate(WIDE)}"
        )
    tab.set_viewport_size({"width": 1280, "height": 800})
    tab.add_script_tag(path=str(AXE))
    found = tab.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"
    )
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"


def test_sign_in_filter_open_a_claim_change_its_status_and_see_the_audit_row(page, site):
    _, eng, _ = site
    sign_in(page, "lead")
    assert page.url.endswith("/worklist")
    check_page(page, "worklist")
    total = page.locator(".totals strong").first.inner_text()
    page.get_by_label("Category").select_option("eligibility")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**category=eligibility**")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0, page.url + page.locator("main").inner_text()[:800]
    assert all(r == "eligibility" for r in rows.locator("td:nth-child(4)").all_inner_texts())
    assert page.locator(".totals strong").first.inner_text() != total  # the totals follow
    claim = rows.first.locator("td:nth-child(2) a")
    claim_id = claim.inner_text()
    claim.click()
    page.wait_for_url("**/worklist/*")
    assert f"Claim {claim_id}" in page.locator("h1").inner_text()
    check_page(page, "claim")
    page.get_by_label("Status", exact=True).select_option("in_progress")
    page.get_by_label("Note", exact=True).fill("called the payer, reference 123")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**notice=**")
    assert "saved" in page.locator(".notice").inner_text()
    history = page.locator("table.history tbody").inner_text()
    assert "lead" in history and "status: open → in_progress" in history
    with eng.connect() as conn:
        actions = (
            conn.execute(
                select(audit_log.c.action).where(
                    audit_log.c.actor == "lead", audit_log.c.entity == "worklist_item"
                )
            )
            .scalars()
            .all()
        )
    assert "update" in actions and "note" in actions


def test_the_appeal_letter_downloads_as_a_pdf_that_says_the_facts(page):
    from pypdf import PdfReader

    sign_in(page, "analyst")
    first = page.locator("table.queue tbody tr").first
    claim_id = first.locator("td:nth-child(2) a").inner_text()
    payer = first.locator("td:nth-child(3)").inner_text()
    deadline = first.locator(".due").inner_text().split()[0]
    first.locator("td:nth-child(2) a").click()
    page.wait_for_url("**/worklist/*")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download PDF").click()
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(Path(got.value.path()).read_bytes())).pages
    )
    assert claim_id in text and payer in text and deadline in text
    codes = page.locator(".remit li strong").all_inner_texts()
    assert codes and any(code in text for code in codes)
    # a selection of items: one PDF, a letter each
    page.goto("/worklist")
    boxes = page.locator("table.queue tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    with page.expect_download() as got:
        page.get_by_role("button", name="Appeal letters (PDF)").click()
    pages = PdfReader(io.BytesIO(Path(got.value.path()).read_bytes())).pages
    assert sum("Request for reconsideration" in p.extract_text() for p in pages) == 2


def test_an_uploaded_837_shows_its_flagged_claims_first(page, site):
    _, _, claims_837 = site
    sign_in(page, "biller")
    assert page.url.endswith("/check")
    page.get_by_label("837 file (professional or institutional)").set_input_files(str(claims_837))
    page.get_by_role("button", name="Check the file").click(timeout=120_000)
    page.locator("#result-title").wait_for()
    heading = page.locator("#result-title").inner_text()
    flagged, total = int(heading.split()[0]), int(heading.split()[2])
    assert total == 300 and 0 < flagged < total
    risks = [
        float(t.split("%")[0])
        for t in page.locator("table.scores tbody td:nth-child(2)").all_inner_texts()
    ]
    assert risks == sorted(risks, reverse=True)
    assert page.locator("table.scores tbody tr").first.locator(".band").inner_text() != "low"
    check_page(page, "check")


def test_the_dashboard_charts_hold_data(page):
    sign_in(page, "lead")
    page.goto("/dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    assert page.locator("#denial-rate polyline").count() >= 2  # all payers, and the busiest
    for key in ("reason-mix", "dollars", "aging", "providers", "procedures"):
        bars = page.locator(f"#{key} rect.bar")
        assert bars.count() > 0, key
        widths = [
            float(w) for w in bars.evaluate_all("els => els.map(e => e.getAttribute('width'))")
        ]
        assert max(widths) > 0, key
        assert page.locator(f"#{key} table tbody tr").count() == bars.count(), key
    check_page(page, "dashboard")
    payer = page.get_by_label("Payer").locator("option").nth(1).inner_text()
    page.get_by_label("Payer").select_option(payer)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**payer_id=**")
    assert payer in page.locator("#denial-rate table thead").text_content()
    assert page.get_by_label("Payer").input_value() == payer


def test_the_model_page_and_the_sign_in_page_pass_the_checks(page):
    page.goto("/")
    check_page(page, "sign-in")
    sign_in(page, "lead")
    page.goto("/model")
    assert "ROC AUC" in page.locator("table.metrics").inner_text()
    assert page.locator("svg.chart polyline").count() >= 2
    check_page(page, "model")


def test_the_monitoring_page_passes_the_checks(page, monitor_run):
    sign_in(page, "lead")
    page.goto("/monitoring")
    assert monitor_run["as_of"] in page.locator("dl.facts").inner_text()
    assert page.get_by_role("heading", name="Is the model still right?", exact=False).count() == 1
    check_page(page, "monitoring")
