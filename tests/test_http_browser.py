"""The web UI in Debian's Chromium (Playwright, headless) against a live `overlay serve` with
the embedded model: send a message, watch the streamed answer, open its run graph.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import live_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (.ci/run installs it with apt)",
)


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(
        tmp_path_factory.mktemp("serve") / "ws",
        OVERLAY_ENGINE__CONTEXT_SIZE="2048",
        OVERLAY_ENGINE__MAX_TOKENS="24",
        OVERLAY_ENGINE__TEMPERATURE="0",
    ) as url:
        yield url


def test_chat_streams_and_the_run_graph_opens(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{server}/")
        page.wait_for_selector("#model option[value='overlay/direct']", state="attached")
        page.select_option("#model", "overlay/direct")
        page.fill("#prompt", "What is the capital of France? One word.")
        page.click("#send")
        answer = page.locator(".msg.assistant.done").last
        answer.wait_for(timeout=120_000)
        assert "Paris" in answer.inner_text()
        page.screenshot(path=str(ARTIFACTS / "ui-chat.png"))

        answer.locator("a", has_text="open the run graph").click()
        page.wait_for_function("window.overlayGraph && window.overlayGraph.nodes().length > 2")
        kinds = page.evaluate("window.overlayGraph.nodes().map(n => n.data('kind'))")
        assert {"run", "phase", "llm_call"} <= set(kinds)
        page.wait_for_function("document.querySelectorAll('#timeline li').length > 3")
        page.screenshot(path=str(ARTIFACTS / "ui-run-graph.png"))

        page.click("nav a[data-page=frames]")
        page.locator("#frames li", has_text="reflect").click()
        page.wait_for_function(
            "document.getElementById('frame-yaml').textContent.includes('critique')"
        )
        page.screenshot(path=str(ARTIFACTS / "ui-frames.png"))
        browser.close()
    assert problems == []
