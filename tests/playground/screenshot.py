"""Take the README's screenshot of the playground (``docs/playground.png``): Bob in ``#approvals``, looking at Alice's
request with its buttons and the dry run he started in its thread.

Run it from the repository root: ``.venv/bin/python -m tests.playground.screenshot``.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.playground.conftest import CHROMIUM, start_playground, stop_playground
from tests.playground.test_journey import WAIT, act_as, message_with, open_conversation, submit, type_command

TARGET = Path(__file__).resolve().parents[2] / "docs" / "playground.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as driver:
        playground = start_playground(Path(folder))
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
            page.goto(playground.url)
            act_as(page, "Alice")
            type_command(page, "/jobs run maintenance.DrainInterfaces")
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Site").select_option(label="Frankfurt 1")
            dialog.get_by_label("Interfaces").select_option(["uplink1", "peering1"])
            dialog.get_by_label("Note").fill("Fibre work on the Frankfurt uplinks, ticket NET-4711")
            submit(dialog)
            expect(dialog.get_by_label("Site")).to_have_count(0, timeout=WAIT)
            dialog.get_by_role("button", name="Close").first.click()
            act_as(page, "Bob")
            open_conversation(page, "approvals")
            card = message_with(page, "Drain interfaces")
            expect(card).to_have_count(1, timeout=WAIT)
            card.get_by_role("button", name=re.compile(r"^Dry run ")).click()
            expect(card.locator("details.thread")).to_be_visible(timeout=WAIT)
            card.locator("details.thread > summary").click()
            expect(card.locator("details.thread article")).to_have_count(1, timeout=WAIT)
            page.locator("#notice").evaluate("box => box.hidden = true")
            TARGET.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(TARGET))
            print(f"wrote {TARGET}")
        finally:
            browser.close()
            stop_playground(playground)


if __name__ == "__main__":
    main()
