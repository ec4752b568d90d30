"""The search page in a real headless Chromium (Debian's package, driven by playwright).

Skipped only on a developer machine without chromium; in CI (CI=true) a missing browser fails.
SEARCH_PAGE_SCREENSHOT=docs/search-page.png keeps the screenshot (make screenshot).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Root in a container needs --no-sandbox; the rest keep a closed network quiet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IVIG_DOSE = "What daily IVIG dose did Carp give?"
IVIG_SECTION = "3.2 Immunoglobulin intravenous infusion therapy in RSA"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"chromium is not at {CHROMIUM}; .ci/run installs it (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI runs this test")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_url, viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto("/")
    # The section filter is filled from /sections once the page has loaded.
    expect(opened.locator("#section option")).not_to_have_count(1)
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def ask(page: Page, question: str) -> None:
    if not page.evaluate("document.activeElement.id === 'q'"):
        page.keyboard.press("/")
    page.keyboard.press("Control+A")
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    expect(page.locator("#search")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#status")).to_contain_text("best first")


def test_typed_question_shows_the_expected_section_first(page: Page, tmp_path: Path) -> None:
    ask(page, IVIG_DOSE)
    first = page.locator("#results > li").first
    expect(first.locator(".section-path")).to_have_text(
        "3 Advances in immunotherapy for immunological factors in recurrent abortion › " + IVIG_SECTION
    )
    expect(first.locator(".rank")).to_have_text("#1")
    expect(first).to_contain_text("They gave IVIG 400mg/kg per day")
    expect(page.locator("#verdict")).to_have_class("verdict in-scope")
    expect(page.locator("#verdict")).to_contain_text("Answered by the article")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=What+daily+IVIG+dose+did+Carp+give%3F&top_k=5")

    page.screenshot(path=tmp_path / "search-page.png", full_page=True)
    if keep := os.environ.get("SEARCH_PAGE_SCREENSHOT"):
        page.set_viewport_size({"width": 1100, "height": 1320})
        page.screenshot(path=keep, full_page=False)


def test_highlights_are_the_api_highlights(page: Page, client: TestClient) -> None:
    ask(page, IVIG_DOSE)
    expected = client.get("/query", params={"q": IVIG_DOSE}).json()["results"]
    marks = page.locator("#results > li").first.locator("mark").all_text_contents()
    assert marks == [h["text"] for h in expected[0]["highlights"]]
    assert page.locator("#results > li .passage").first.text_content() == expected[0]["text"]


def test_citations_are_resolved(page: Page) -> None:
    ask(page, "Which reference concerns ACA conversion with low molecular heparin?")
    citations = page.locator("#results .citations li").first
    expect(citations.locator(".marker")).to_have_text("[4]")
    expect(citations).to_contain_text("Wu Jing, Huang Huamei")


def test_section_filter_with_the_keyboard(page: Page) -> None:
    ask(page, "dose")
    page.keyboard.press("Tab")
    expect(page.locator("#section")).to_be_focused()
    page.keyboard.type("3.4")  # a focused select jumps to the option that starts so
    expect(page.locator("#section")).to_have_value("3.4")
    expect(page).to_have_url(re.compile(r"[?&]sections=3\.4(&|$)"))
    expect(page.locator("#search")).not_to_have_attribute("aria-busy", "true")
    paths = page.locator("#results .section-path").all_text_contents()
    assert paths and all(p.endswith("3.4 1 α ,25-dihydroxyvitamin D₃ (VD₃) in RSA") for p in paths)


def test_arrow_keys_move_between_passages(page: Page) -> None:
    ask(page, IVIG_DOSE)
    page.keyboard.press("ArrowDown")
    expect(page.locator("#results > li").nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#results > li").nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("/")  # back to the question, its text selected to be typed over
    expect(page.locator("#q")).to_be_focused()
    assert page.evaluate("getSelection().toString()") == IVIG_DOSE


def test_off_topic_question_says_it_is_not_covered(page: Page) -> None:
    ask(page, "What is the capital of France?")
    expect(page.locator("#verdict")).to_have_class("verdict out-of-scope")
    expect(page.locator("#verdict")).to_contain_text("Not covered by the article")


def test_a_link_with_a_question_searches_on_open(page: Page) -> None:
    page.goto("/?q=vitamin+D+dose&sections=3.4&top_k=3")
    expect(page.locator("#results > li")).to_have_count(3)
    expect(page.locator("#section")).to_have_value("3.4")
    expect(page.locator("#q")).to_have_value("vitamin D dose")


def test_service_errors_are_shown(page: Page) -> None:
    page.locator("#q").fill("x" * 1000)
    page.evaluate("document.getElementById('q').value += 'yy'")  # past maxlength, as a script could
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Could not search: q: query is 1002 characters")


def test_page_and_its_files_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css")]:
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert f'"static/{name}"' in page.text


def test_nothing_is_loaded_from_another_host(client: TestClient) -> None:
    for path in ["/", "/static/app.js", "/static/style.css"]:
        text = client.get(path).text
        assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", text) == [], path
