"""End to end: the real server, a real headless Chromium, and a person's clicks.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); without it these tests are
skipped. ``TRACKLM_UI_SCREENSHOTS=docs/screenshots`` also saves the main pages there (the
README's pictures).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import expect

from tracklm.stores import open_store
from tracklm.ui.server import UIServer

from ._data import BIG_RUN, SCRIPT_PROMPT, RealisticStore

CHROMIUM: Final = os.environ.get("TRACKLM_CHROMIUM") or shutil.which("chromium") or ""
# without the background-networking flags Chromium waits on a network a sandbox does not have
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
HOW_TO: Final = (
    "End-to-end tests need Chromium: apt-get install -y --no-install-recommends chromium "
    "(or set TRACKLM_CHROMIUM to a Chromium binary)"
)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=HOW_TO)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


def _serve(path: Path) -> Iterator[str]:
    store = open_store(str(path))
    server = UIServer(store, port=0)
    server.start()
    try:
        yield server.url.rstrip("/")
    finally:
        server.stop()
        store.close()


@pytest.fixture(scope="module")
def realistic_url(realistic: RealisticStore) -> Iterator[str]:
    yield from _serve(realistic.path)


@pytest.fixture(scope="module")
def big_url(big_path: Path) -> Iterator[str]:
    yield from _serve(big_path)


class Watched:
    """A page whose dialogs, script errors and console errors are kept to be checked."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.dialogs == []
        assert self.errors == []


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    watched = Watched(context.new_page())
    yield watched
    watched.assert_clean()
    context.close()


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("TRACKLM_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def wait_for_charts(page: Any, count: int) -> None:
    # (locators, not wait_for_function: the pages' Content-Security-Policy forbids eval)
    expect(page.locator("figure.chart .uplot canvas")).to_have_count(count)


# -- the tests ---------------------------------------------------------------------------------


def test_from_the_experiments_to_a_run_filtered_and_sorted(
    page: Watched, realistic_url: str
) -> None:
    p = page.page
    p.goto(realistic_url + "/")
    assert p.locator("#experiments tbody tr").count() == 1
    screenshot(p, "experiments")
    p.click("text=support-bot")
    assert p.locator("#runs tbody tr").count() == 3
    p.fill("#filter", "params.temperature = '0.7'")
    p.press("#filter", "Enter")
    p.wait_for_url("**filter=*")
    assert p.locator("#runs tbody tr").all_inner_texts()[0].split("\t")[1].strip() == "prompt-v2"
    p.fill("#filter", "params.temperature = 0.7")  # a number where a string is needed
    p.press("#filter", "Enter")
    p.wait_for_selector("#filter-error")
    assert "a quoted string to compare params.temperature" in p.inner_text("#filter-error")
    p.click("text=clear")
    p.click("#runs thead >> text=Name")
    names = [row.split("\t")[1].strip() for row in p.locator("#runs tbody tr").all_inner_texts()]
    assert names == ["prompt-v3", "prompt-v2", "prompt-v1"]
    p.click("#runs thead >> text=Name")
    names = [row.split("\t")[1].strip() for row in p.locator("#runs tbody tr").all_inner_texts()]
    assert names == ["prompt-v1", "prompt-v2", "prompt-v3"]
    screenshot(p, "runs")


def test_a_run_draws_a_chart_per_metric_over_steps_and_time(
    page: Watched, realistic: RealisticStore, realistic_url: str
) -> None:
    p = page.page
    p.goto(f"{realistic_url}/runs/{realistic.run_ids['prompt-v1']}")
    charts = p.locator("figure.chart").count()
    assert charts == 6  # eval_score, latency, three token counts, time to first token
    wait_for_charts(p, charts)
    screenshot(p, "run")
    p.click("[data-axis=time]")
    expect(p.locator("[data-axis=time]")).to_have_class(re.compile(r"\bon\b"))
    wait_for_charts(p, charts)
    assert p.locator("figure.chart .uplot").count() == charts  # redrawn, not added


def test_paging_filtering_and_searching_200000_rows(page: Watched, big_url: str) -> None:
    p = page.page
    p.goto(f"{big_url}/runs/{BIG_RUN}")
    summary = p.locator("#table-summary")
    assert summary.inner_text() == "Rows 1 to 50 of 200,000."
    p.click("#table [data-page=next]")
    expect(summary).to_have_text("Rows 51 to 100 of 200,000.")
    p.click("#table [data-page=last]")
    expect(summary).to_have_text("Rows 199,951 to 200,000 of 200,000.")
    assert p.locator("#rows tbody tr").last.inner_text().startswith("199999")
    p.select_option("select[name=status]", "error")  # submits by itself
    expect(summary).to_have_text("Rows 1 to 50 of 201 matching.")
    p.fill("input[name=q]", "question 4985:")
    p.press("input[name=q]", "Enter")
    expect(summary).to_have_text("Rows 1 to 1 of 1 matching.")
    p.click("#rows tbody tr >> a")
    expect(p.locator(".prompt")).to_contain_text("Question 4985: where is order 4985?")
    p.goto(f"{big_url}/runs/{BIG_RUN}")
    wait_for_charts(p, 1)
    assert "of 100,000 points shown" in p.inner_text("figure.chart .chart-note")


def test_a_row_shows_the_conversation(
    page: Watched, realistic: RealisticStore, realistic_url: str
) -> None:
    p = page.page
    p.goto(f"{realistic_url}/runs/{realistic.run_ids['prompt-v1']}")
    p.click("#rows tbody tr:nth-child(14) >> a")  # the tool call
    p.wait_for_selector(".response .tool-call")
    assert "tool call: get_order_status" in p.inner_text(".response")
    p.click("a[rel=prev]")  # row 12, the stream before it
    expect(p.locator(".prompt")).to_contain_text("Write a two-line apology.")
    assert [r.lower() for r in p.locator(".prompt .role").all_inner_texts()] == ["user"]
    p.goto(f"{realistic_url}/runs/{realistic.run_ids['prompt-v1']}/rows/1")
    screenshot(p, "row")


def test_two_runs_compared_from_the_runs_page(
    page: Watched, realistic: RealisticStore, realistic_url: str
) -> None:
    p = page.page
    p.goto(f"{realistic_url}/experiments/{realistic.experiment_id}")
    assert p.is_disabled("#compare-button")
    p.check(f"input[value='{realistic.run_ids['prompt-v1']}']")
    p.check(f"input[value='{realistic.run_ids['prompt-v3']}']")
    p.click("#compare-button")
    p.wait_for_selector("#params-table")
    differing = p.locator("#params-table tr.differs th").all_inner_texts()
    assert differing == ["model", "prompt_version"]
    charts = p.locator("figure.compare-chart").count()
    wait_for_charts(p, charts)
    first = p.locator("#joined tbody tr").first.inner_text()
    assert first.count("echo: Where is my order #4417?") == 2
    screenshot(p, "compare")


def test_a_prompt_with_a_script_is_shown_and_never_run(
    page: Watched, realistic: RealisticStore, realistic_url: str
) -> None:
    p = page.page
    run_id = realistic.run_ids["prompt-v2"]
    p.goto(f"{realistic_url}/runs/{run_id}")
    assert SCRIPT_PROMPT in p.inner_text("#rows")
    number = p.locator("#rows tbody tr").count() - 2  # before the failed call
    p.goto(f"{realistic_url}/runs/{run_id}/rows/{number}")
    assert SCRIPT_PROMPT in p.inner_text(".prompt")
    assert p.locator("img").count() == 0
    ids = [realistic.run_ids["prompt-v1"], run_id]
    p.goto(f"{realistic_url}/compare?run={ids[0]}&run={ids[1]}")
    assert SCRIPT_PROMPT in p.inner_text("#joined")
    p.wait_for_timeout(300)  # time for anything that would run
    assert page.dialogs == []
