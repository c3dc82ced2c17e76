"""The product in a real browser (Debian's Chromium driven by Playwright): a reader asks and opens a
citation, a reviewer takes and approves from the queue, the reader sees the approval; phone width and
keyboard use. Screenshots go to VADEMECUM_SCREENSHOTS (default test-artifacts/screenshots, not in git)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_server import serving
from vademecum.articles.models import REVIEWER
from vademecum.services.accounts import add_user
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
# Questions from tests/test_ask.py that the demo corpus answers from PDQ summaries.
QUESTION = "How is early-stage breast cancer treated?"
PHONE_QUESTION = "What is the treatment of hairy cell leukemia?"
PASSWORD = "correct horse battery"
SCREENSHOTS = Path(
    os.environ.get("VADEMECUM_SCREENSHOTS", Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots")
)

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app under uvicorn on loopback, over a private copy of the ingested demo data directory."""
    home = tmp_path_factory.mktemp("browser") / "home"
    shutil.copytree(demo_settings.home, home)
    settings = Settings(home=home, corpus=demo_settings.corpus)
    runtime = open_runtime(settings)
    with runtime.session() as session:
        add_user(session, None, "reviewer", REVIEWER, password=PASSWORD, from_command_line=True)
    runtime.close()
    with serving(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


def ask(page: object, base: str, question: str) -> None:
    page.goto(f"{base}/")
    page.fill("#ask-form [name=question]", question)
    with page.expect_navigation(timeout=120_000):
        page.click("#ask-form button[type=submit]")


# Marks (with an id) the first citation whose passage is quoted by a sentence beside it.
_MARK_QUOTING_CITATION = """() => {
  for (const link of document.querySelectorAll("sup.cite a[data-passage]")) {
    const place = link.closest("li, p, blockquote");
    if (place && place.querySelector(`.sentence[data-key="ev-${link.dataset.passage}"]`)) {
      link.id = "quoting-citation";
      return link.id;
    }
  }
  return null;
}"""


def quoting_citation(page: object) -> str:
    found = page.evaluate(_MARK_QUOTING_CITATION)
    assert found, "no citation beside a sentence of its passage"
    return found


def test_reader_asks_reviewer_approves_reader_sees_it(server: str, browser: object) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reader = browser.new_context().new_page()
    ask(reader, server, QUESTION)
    assert "/articles/" in reader.url
    article_url = reader.url.split("?")[0]
    sync_api.expect(reader.locator(".pending-banner")).to_be_visible()
    sync_api.expect(reader.locator(".stepper li.step.current")).to_have_text("Submitted")
    title = reader.locator("article h1").inner_text()

    # a citation opens its passage in place, with the quoted sentence marked
    link = reader.locator(f"#{quoting_citation(reader)}")
    quoted = link.evaluate(
        "link => link.closest('li, p, blockquote')"
        ".querySelector(`.sentence[data-key='ev-${link.dataset.passage}']`).textContent"
    )
    link.click()
    panel = reader.locator(".passage-panel")
    sync_api.expect(panel.locator(".passage-text")).to_be_visible()
    sync_api.expect(panel.locator(".passage-text mark")).to_have_text(quoted)
    sync_api.expect(panel.locator(".passage-level")).not_to_be_empty()
    sync_api.expect(panel.locator(".passage-source")).not_to_be_empty()
    assert panel.evaluate("element => document.activeElement === element")  # focus moved into the panel
    reader.screenshot(path=str(SCREENSHOTS / "article-pending.png"), full_page=True)
    reader.keyboard.press("Escape")
    sync_api.expect(reader.locator(".passage-panel")).to_have_count(0)
    assert link.evaluate("element => document.activeElement === element")  # focus back on the citation

    # a reviewer signs in, finds the article in the queue, takes it and approves it
    reviewer = browser.new_context().new_page()
    reviewer.goto(f"{server}/review")
    assert "/login" in reviewer.url
    reviewer.fill("#login-form [name=username]", "reviewer")
    reviewer.fill("#login-form [name=password]", PASSWORD)
    with reviewer.expect_navigation():
        reviewer.click("#login-form button[type=submit]")
    assert reviewer.url.endswith("/review")
    item = reviewer.locator(".queue-item", has_text=title)
    sync_api.expect(item).to_have_count(1)
    reviewer.screenshot(path=str(SCREENSHOTS / "review-queue.png"), full_page=True)
    item.locator("a.queue-article").click()
    reviewer.click("form.review-action button[name=action][value=take]")
    sync_api.expect(reviewer.locator(".stepper li.step.current")).to_have_text("Under Review")
    reviewer.fill("form.review-action textarea[name=comment]", "checked against the cited passages")
    reviewer.click("form.review-action button[name=action][value=approve]")
    sync_api.expect(reviewer.locator(".stepper li.step.current")).to_have_text("Approved")

    # the reader reloads: approved, dated, no banner
    reader.goto(article_url)
    sync_api.expect(reader.locator(".stepper li.step.current")).to_have_text("Approved")
    sync_api.expect(reader.locator(".pending-banner")).to_have_count(0)
    sync_api.expect(reader.locator("time.last-updated")).to_have_count(1)
    assert reader.locator("time.last-updated").get_attribute("datetime") == time.strftime("%Y-%m-%d", time.gmtime())
    reader.screenshot(path=str(SCREENSHOTS / "article-approved.png"), full_page=True)


def test_phone_width_and_keyboard(server: str, browser: object) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    ask(page, server, PHONE_QUESTION)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the article page scrolls sideways by {overflow}px on a phone"
    page.screenshot(path=str(SCREENSHOTS / "article-phone.png"), full_page=True)

    # keyboard only: Tab until a citation has focus, Enter opens its passage, Escape closes it
    first = page.locator("sup.cite a[data-passage]").first
    for _ in range(200):
        page.keyboard.press("Tab")
        if first.evaluate("element => document.activeElement === element"):
            break
    else:
        pytest.fail("Tab never reached a citation")
    page.keyboard.press("Enter")
    panel = page.locator(".passage-panel")
    sync_api.expect(panel.locator(".passage-text")).to_be_visible()
    assert first.get_attribute("aria-expanded") == "true"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the open passage scrolls sideways by {overflow}px on a phone"
    page.keyboard.press("Escape")
    sync_api.expect(panel).to_have_count(0)
    assert first.get_attribute("aria-expanded") == "false"
