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
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from conftest import ARTICLE, serving
from rsa_qa.config import Settings
from rsa_qa.http.app import create_app
from rsa_qa.pipeline.embed import Embedder
from rsa_qa.search.searcher import Searcher
from rsa_qa.service import Service, build_index

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
SYNTHETIC = Path(__file__).parent / "data" / "synthetic-vineyard-sensors.md"
# Any address other than the server under test would be a CDN or another outside host.
CROSS_HOST = re.compile(r"(?:https?:)?//[\w.-]+\.\w+/")


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


def open_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page, list[str]]:
    """A new tab on the search page, once the page has filled its section filter from /sections."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto("/")
    expect(opened.locator("#section option")).not_to_have_count(1)
    return context, opened, errors


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context, opened, errors = open_page(browser, live_url)
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture(scope="module")
def library_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The real app over a library of two articles: the review and a synthetic one (test data)."""
    root = tmp_path_factory.mktemp("library")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus)
    shutil.copy(SYNTHETIC, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    index = build_index(settings, embedder, progress=lambda _: None).index
    service = Service(settings, searcher=Searcher(index, embedder), not_ready_reason=None)
    with serving(create_app(settings, service), settings) as url:
        yield url


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
        assert CROSS_HOST.findall(text) == [], path


def wait_for_answer(page: Page) -> None:
    expect(page.locator("#search")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#status")).to_contain_text("best first")


def test_a_section_filter_shows_the_verdict_for_that_filter(page: Page, client: TestClient) -> None:
    filtered = client.get("/query", params={"q": IVIG_DOSE, "sections": "3.4"}).json()
    assert not filtered["in_scope"], "section 3.4 does not answer the IVIG question; the test needs that"
    ask(page, IVIG_DOSE)
    expect(page.locator("#verdict")).to_have_class("verdict in-scope")
    page.locator("#section").select_option("3.4")
    expect(page).to_have_url(re.compile(r"[?&]sections=3\.4(&|$)"))
    wait_for_answer(page)
    expect(page.locator("#verdict")).to_have_class("verdict out-of-scope")
    expect(page.locator("#verdict")).to_contain_text("Not covered by the article within section 3.4")
    expect(page.locator("#verdict")).to_contain_text(filtered["reason"].rstrip("."))
    expect(page.locator("#results > li")).to_have_count(len(filtered["results"]))


def test_escape_clears_the_question_the_answer_and_the_address(page: Page) -> None:
    base = page.url.split("?")[0]
    ask(page, IVIG_DOSE)
    expect(page.locator("#results > li")).not_to_have_count(0)
    page.keyboard.press("Escape")
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#verdict")).to_be_hidden()
    expect(page.locator("#results > li")).to_have_count(0)
    expect(page.locator("#status")).to_have_text("")
    expect(page).to_have_url(base)

    ask(page, "vitamin D dose")
    page.keyboard.press("ArrowDown")  # Esc from a passage clears as well, and goes back to the box
    expect(page.locator("#results > li").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#results > li")).to_have_count(0)
    expect(page.locator("#verdict")).to_be_hidden()
    expect(page).to_have_url(base)

    page.go_back()  # the search that was cleared is still in the history
    expect(page.locator("#q")).to_have_value("vitamin D dose")
    expect(page.locator("#results > li")).not_to_have_count(0)


def test_slash_is_typed_in_the_box_and_focuses_it_from_elsewhere(page: Page) -> None:
    question = page.locator("#q")
    expect(question).to_be_focused()  # autofocus
    page.keyboard.type("IVIG 400mg/kg")
    expect(question).to_have_value("IVIG 400mg/kg")
    page.keyboard.press("/")
    expect(question).to_have_value("IVIG 400mg/kg/")

    for elsewhere in ["body", "#section", "button[type=submit]"]:
        if elsewhere == "body":
            page.evaluate("document.activeElement.blur()")  # nothing focused
        else:
            page.locator(elsewhere).focus()
        expect(question).not_to_be_focused()
        page.keyboard.press("/")
        expect(question).to_be_focused()
        expect(question).to_have_value("IVIG 400mg/kg/")
        assert page.evaluate("getSelection().toString()") == "IVIG 400mg/kg/"

    page.keyboard.press("End")  # focused by "/", the box takes a typed "/" again
    page.keyboard.press("/")
    expect(question).to_have_value("IVIG 400mg/kg//")


def test_back_and_forward_restore_the_searches_that_were_run(page: Page) -> None:
    before = page.evaluate("history.length")
    ask(page, "dose")
    ask(page, IVIG_DOSE)
    page.keyboard.press("Tab")
    expect(page.locator("#section")).to_be_focused()
    for _ in range(4):  # each arrow key changes a closed select, and the search follows it
        page.keyboard.press("ArrowDown")
    expect(page.locator("#section")).to_have_value("1")
    expect(page).to_have_url(re.compile(r"[?&]sections=1(&|$)"))
    wait_for_answer(page)
    expect(page.locator("#results .section-path").first).to_have_text("1 Introduction")
    # The two searches, and one entry for the filter however many keys chose it.
    assert page.evaluate("history.length") == before + 3

    page.go_back()
    expect(page.locator("#q")).to_have_value(IVIG_DOSE)
    expect(page.locator("#section")).to_have_value("")
    expect(page).not_to_have_url(re.compile("sections="))
    wait_for_answer(page)
    expect(page.locator("#results > li").first).to_contain_text("They gave IVIG 400mg/kg per day")

    page.go_back()
    expect(page.locator("#q")).to_have_value("dose")
    expect(page).to_have_url(re.compile(r"\?q=dose&top_k=5$"))
    wait_for_answer(page)

    page.go_forward()
    page.go_forward()
    expect(page.locator("#q")).to_have_value(IVIG_DOSE)
    expect(page.locator("#section")).to_have_value("1")
    wait_for_answer(page)
    expect(page.locator("#results .section-path")).to_have_text(["1 Introduction"])

    page.go_back()
    page.go_back()
    page.go_back()  # before the first search: an empty page again
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#results > li")).to_have_count(0)
    expect(page.locator("#verdict")).to_be_hidden()


def test_an_unknown_section_in_the_address_is_reported(page: Page) -> None:
    page.goto("/?q=dose&sections=9.9")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("There is no section “9.9” in the index, so nothing was searched")
    expect(page.locator("#q")).to_have_value("dose")
    expect(page.locator("#section")).to_have_value("")
    expect(page.locator("#results > li")).to_have_count(0)
    expect(page.locator("#verdict")).to_be_hidden()

    page.locator("#q").press("Enter")  # the user's choice: search every section
    wait_for_answer(page)
    expect(notice).to_be_hidden()
    expect(page.locator("#results > li")).not_to_have_count(0)
    expect(page).not_to_have_url(re.compile("sections="))


def test_off_topic_results_are_dimmed_without_highlights(page: Page, client: TestClient) -> None:
    # One-word questions that the models may judge off-topic while highlighting a passage;
    # which of them does moves when the models are refitted.
    for question in ("therapy", "treatment", "dose", "women", "blood", "cells"):
        body = client.get("/query", params={"q": question}).json()
        if not body["in_scope"] and any(r["highlights"] for r in body["results"]):
            break
    else:
        pytest.fail("the test needs an off-topic question whose passages have highlights")
    ask(page, question)
    expect(page.locator("#verdict")).to_have_class("verdict out-of-scope")
    items = page.locator("#results > li")
    expect(items).to_have_count(len(body["results"]))
    expect(items.locator("mark")).to_have_count(0)
    for i in range(len(body["results"])):
        expect(items.nth(i)).to_have_class("result off-topic")
        assert float(items.nth(i).evaluate("item => getComputedStyle(item).opacity")) < 1
    assert items.first.locator(".passage").text_content() == body["results"][0]["text"]

    answered = client.get("/query", params={"q": "vitamin D dose"}).json()
    assert answered["in_scope"] and answered["results"][0]["highlights"], "the test needs an answer"
    ask(page, "vitamin D dose")  # an answer keeps its highlights, at full strength
    expect(page.locator("#verdict")).to_have_class("verdict in-scope")
    expect(items.first).to_have_class("result")
    expect(items.locator("mark")).to_have_count(sum(len(r["highlights"]) for r in answered["results"]))
    assert float(items.first.evaluate("item => getComputedStyle(item).opacity")) == 1


def test_the_header_names_the_one_article_from_documents(page: Page, client: TestClient) -> None:
    [document] = client.get("/documents").json()["documents"]
    corpus = page.locator("#corpus")
    expect(corpus.locator("cite")).to_have_text(document["title"])
    expect(corpus).to_contain_text(f"({' & '.join(document['authors'])})")
    expect(corpus.locator(".articles")).to_have_count(0)


def test_the_header_lists_the_articles_of_a_library(browser: Browser, library_url: str) -> None:
    context, page, errors = open_page(browser, library_url)
    try:
        documents = page.request.get(f"{library_url}/documents").json()["documents"]
        assert len(documents) == 2
        corpus = page.locator("#corpus")
        expect(corpus.locator(".article-count")).to_have_text("2 articles")
        expect(corpus.locator(".articles li cite")).to_have_text([d["title"] for d in documents])
        expect(corpus).to_contain_text("Capacitive Soil Moisture Sensors for Deficit Irrigation in Vineyards")
        # A section both articles have is one choice of the filter.
        expect(page.locator("#section option[value='Abstract']")).to_have_count(1)
        ask(page, "How much less water did sensor-guided irrigation use?")
        expect(page.locator("#verdict")).to_contain_text("by the articles")
    finally:
        context.close()
    assert errors == [], f"the page raised: {errors}"


def test_the_favicon_is_served(page: Page, client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content.startswith(b"\x00\x00\x01\x00")  # an ICO file
    hrefs = page.locator("link[rel=icon]").evaluate_all("links => links.map((link) => link.href)")
    assert len(hrefs) == 2
    for href in hrefs:
        assert page.request.get(href).status == 200, href


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_use_only_local_assets(client: TestClient, path: str) -> None:
    html = client.get(path)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert re.findall(r"https?://", html.text) == [] and CROSS_HOST.findall(html.text) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and served.content, asset
    assert client.get("/openapi.json").status_code == 200


def test_the_api_docs_render_with_no_other_host(browser: Browser, live_url: str) -> None:
    context = browser.new_context(base_url=live_url)
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith((live_url, "data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    try:
        page.goto("/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("rsa-qa")
        expect(page.locator(".opblock-summary-path", has_text="/query").first).to_be_visible()
        page.goto("/redoc")
        expect(page.locator("h1").first).to_contain_text("rsa-qa")
        expect(page.get_by_text("/query", exact=True).first).to_be_attached()
    finally:
        context.close()
    assert elsewhere == []
