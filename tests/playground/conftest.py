"""The playground as a person meets it: ``jobgate playground --no-browser`` started as a process, and Debian's
chromium driven by Playwright. Without chromium these tests fail, saying how to install it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

JOBGATE = str(Path(sys.executable).parent / "jobgate")
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Playground:
    """One ``jobgate playground`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_playground(folder: Path, env: dict[str, str] | None = None) -> Playground:
    """Start ``jobgate playground --no-browser`` in ``folder`` (with ``env`` added) and wait until its page answers."""
    port = _free_port()
    log = folder / f"playground-{port}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))} | (env or {})
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen([JOBGATE, "playground", "--no-browser", "--port", str(port)], cwd=folder,
                                   env=clean, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = started + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"jobgate playground exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the playground page did not answer within 30 s:\n{log.read_text()}")
        time.sleep(0.05)
    return Playground(url=url, process=process, log=log, started_in=time.monotonic() - started)


def stop_playground(playground: Playground) -> int:
    playground.process.terminate()
    return playground.process.wait(timeout=30)


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """A playground shared by a module's tests (each acts on requests of its own)."""
    running = start_playground(tmp_path_factory.mktemp("playground"))
    yield running
    assert stop_playground(running) == 0, running.output()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright."""
    if not (Path(CHROMIUM).is_file() and shutil.which(CHROMIUM)):
        raise AssertionError(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
                             "(apt-get install -y chromium; .ci/run installs it)")
    with sync_playwright() as driver:
        launched = _launch(driver)
        yield launched
        launched.close()


def _launch(driver: Playwright) -> Browser:
    return driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


@pytest.fixture
def page(browser: Browser, playground: Playground) -> Iterator[Page]:
    """A fresh tab on the playground page; JavaScript errors on the page fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(playground.url)
    yield opened
    context.close()
    assert errors == [], errors
