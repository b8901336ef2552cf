"""Slack's Block Kit limits for the scenario tests: the checks the Slack simulator applies (``bot.playground``)."""

from __future__ import annotations

from bot.playground.slack_limits import check_ack, check_blocks, check_call, check_element, check_message, check_view

__all__ = ["check_ack", "check_blocks", "check_call", "check_element", "check_message", "check_view"]
