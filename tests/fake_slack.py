"""The fake Slack Web API of the tests and benchmarks: jobgate's Slack simulator (``bot.playground.slack_sim``), the
same one the playground runs, on 127.0.0.1 with an ephemeral port.

It answers the methods jobgate uses, records every call with its decoded parameters (``calls``, ``calls_to``,
``wait_for``), serves ``response_url`` paths, upload URLs and the files a person attached in a modal
(``attach_file``, ``files.info``, their downloads), keeps Slack's limits, fails on demand (``fail``, ``outage``,
``slow``, ``pace``) and keeps a feed of what a person would see (``workspace``). ``wait_until`` polls a condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.playground.slack_sim import (
    DOWNLOAD_METHOD,
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    Call,
    Failure,
    SharedFile,
    blocks_of,
    text_of,
)
from bot.playground.slack_sim import SlackSimulator as FakeSlack

__all__ = ["DOWNLOAD_METHOD", "RESPONSE_URL_METHOD", "UPLOAD_METHOD", "Call", "Failure", "FakeSlack", "SharedFile",
           "blocks_of", "text_of", "wait_until"]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it is true.

    Raises:
        AssertionError: it stayed false for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
