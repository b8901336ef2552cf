"""Slack's check of the Request URL (``url_verification``), as the README's set-up order relies on: answered with its
challenge once the signing secret is set and the server runs; refused while the secret does not match."""

from __future__ import annotations

import json

from tests.slack.conftest import Stack

CHALLENGE = {"token": "verification-token-unused", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
             "type": "url_verification"}


def test_slacks_request_url_check_gets_its_challenge_back(stack: Stack) -> None:
    ack = stack.slack.post(json.dumps(CHALLENGE), content_type="application/json", kind="event")
    assert ack.status == 200
    assert CHALLENGE["challenge"] in ack.body


def test_the_request_url_check_fails_while_the_signing_secret_does_not_match(stack: Stack) -> None:
    ack = stack.slack.post(json.dumps(CHALLENGE), content_type="application/json", kind="event",
                           secret="not-the-apps-signing-secret")
    assert ack.status == 401
    assert CHALLENGE["challenge"] not in ack.body
