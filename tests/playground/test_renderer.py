"""The playground's Block Kit renderer, run under node: every block and element type jobgate sends (and the rest of
Block Kit), mrkdwn, date tokens in the viewer's time zone, button styles and confirm dialogs."""

from __future__ import annotations

import json
from typing import Any

from tests.playground.renderer import render_report, run_js


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def option(value: str, text: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


EVERY_KIND: list[dict[str, Any]] = [
    {"type": "header", "block_id": "h", "text": plain("Headline words")},
    {"type": "section", "block_id": "s", "text": md("*Bold* _italic_ ~struck~ `code` and a <https://example.com|link>"),
     "fields": [md("*Field*\nfirst"), md("*Other*\nsecond")],
     "accessory": {"type": "overflow", "action_id": "menu",
                   "options": [option("a", "Rerun it"), option("b", "Forget")]}},
    {"type": "section", "text": md("Pick one"), "accessory": {
        "type": "static_select", "action_id": "pick", "placeholder": plain("Choose"),
        "options": [option("x", "Xylophone"), option("y", "Yodel")]}},
    {"type": "divider"},
    {"type": "context", "elements": [md("Context words"), plain("plain context"),
                                     {"type": "image", "image_url": "http://127.0.0.1/x.png", "alt_text": "logo"}]},
    {"type": "actions", "block_id": "a", "elements": [
        {"type": "button", "text": plain("Approve"), "style": "primary", "action_id": "ok", "value": "1",
         "confirm": {"title": plain("Really approve?"), "text": md("It runs *now*."), "confirm": plain("Run now"),
                     "deny": plain("Keep waiting")}},
        {"type": "button", "text": plain("Deny"), "style": "danger", "action_id": "no", "value": "1",
         "accessibility_label": "Deny Reboot <core-sw-17>"},
        {"type": "button", "text": plain("Dry run"), "action_id": "dry", "value": "1"},
        {"type": "datepicker", "action_id": "day"}, {"type": "timepicker", "action_id": "when"},
        {"type": "radio_buttons", "action_id": "radio", "options": [option("r1", "Radio one")]},
    ]},
    {"type": "input", "block_id": "i1", "label": plain("Device"), "hint": plain("Device name"),
     "element": {"type": "plain_text_input", "action_id": "v", "initial_value": "core1"}},
    {"type": "input", "block_id": "i2", "label": plain("Delay"), "optional": True,
     "element": {"type": "number_input", "action_id": "v", "is_decimal_allowed": False, "min_value": "0"}},
    {"type": "input", "block_id": "i3", "label": plain("Startup"),
     "element": {"type": "checkboxes", "action_id": "v", "options": [option("true", "Also startup")]}},
    {"type": "input", "block_id": "i4", "label": plain("Interfaces"),
     "element": {"type": "multi_static_select", "action_id": "v", "options": [option("u1", "uplink1")]}},
    {"type": "input", "block_id": "i5", "label": plain("Note"),
     "element": {"type": "plain_text_input", "action_id": "v", "multiline": True}},
    {"type": "image", "image_url": "http://127.0.0.1/y.png", "alt_text": "diagram", "title": plain("A diagram")},
    {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "Rich words", "style": {"bold": True}}, {"type": "user", "user_id": "UBOB"}]},
        {"type": "rich_text_list", "style": "bullet", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "listed item"}]}]},
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "preformatted line"}]}]},
    {"type": "input", "block_id": "i6", "label": plain("Config file"),
     "element": {"type": "file_input", "action_id": "v", "max_files": 1}},
]


def test_every_block_and_element_type_renders_with_its_texts() -> None:
    [report] = render_report([{"method": "chat.postMessage", "params": {"text": "x", "blocks": EVERY_KIND}}])
    assert report["unsupported"] == [] and report["missing"] == []


def test_an_unknown_type_is_marked_and_a_missing_text_is_reported() -> None:
    blocks = [{"type": "carousel", "text": plain("Spinning words")}, {"type": "actions", "elements": [
        {"type": "hologram", "action_id": "h", "text": plain("Floating words")}]}]
    [report] = render_report([{"method": "chat.postMessage", "params": {"text": "x", "blocks": blocks}}])
    assert report["unsupported"] == ["carousel", "hologram"]
    assert {"Spinning", "Floating"} <= set(report["missing"])


def render(blocks: list[dict[str, Any]], **ctx: Any) -> str:
    return str(run_js(f"BK.renderBlocks({json.dumps(blocks)}, {json.dumps(ctx)})"))


def test_button_styles_and_confirm_dialogs() -> None:
    html = render(EVERY_KIND[5:6])
    assert 'class="bk-button bk-primary"' in html and 'class="bk-button bk-danger"' in html
    assert 'class="bk-button" data-kind' in html  # Dry run: the default style
    assert 'data-confirm="0"' in html
    assert 'aria-label="Deny Reboot &lt;core-sw-17&gt;">Deny</button>' in html  # read out by a screen reader
    confirm = run_js(f"BK.renderConfirm({json.dumps(EVERY_KIND[5]['elements'][0]['confirm'])}, {{}})")
    assert confirm == {"title": "Really approve?", "html": "It runs <b>now</b>.", "confirm": "Run now",
                       "deny": "Keep waiting", "style": "primary"}
    plain_confirm = {"title": plain("Approve past due?"), "text": plain("It was due at 09:00 & runs now."),
                     "confirm": plain("Approve"), "deny": plain("Cancel")}
    shown = run_js(f"BK.renderConfirm({json.dumps(plain_confirm)}, {{}})")
    assert shown["html"] == "It was due at 09:00 &amp; runs now."  # plain text: shown as typed, never as mrkdwn


def test_mrkdwn_mentions_links_and_escapes() -> None:
    ctx = {"users": {"UALICE": "Alice"}, "channels": {"CAPPROVALS": "approvals"}, "groups": {"S0NET": "net"}}
    html = run_js("BK.mrkdwn(" + json.dumps(
        "<@UALICE> in <#CAPPROVALS>, <!subteam^S0NET> and <!here>: *done* &lt;@UALICE&gt; &amp; "
        "<https://example.com/a?b=1&amp;c=2|the log>\n>quoted\n```\n<raw> *not bold*\n```") + f", {json.dumps(ctx)})")
    assert '<span class="bk-mention">@Alice</span> in <span class="bk-mention">#approvals</span>' in html
    assert '<span class="bk-mention">@net</span>' in html and '<span class="bk-mention">@here</span>' in html
    assert "<b>done</b> &lt;@UALICE&gt; &amp;" in html  # escaped text stays text: no mention
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noreferrer noopener">the log</a>' in html
    assert "<blockquote>quoted</blockquote>" in html
    assert '<pre class="bk-pre">&lt;raw&gt; *not bold*\n</pre>' in html


def test_date_tokens_show_in_the_viewers_time_zone() -> None:
    token = json.dumps("<!date^1893488400^{date_short_pretty} at {time}|2030-01-01 09:00 UTC>")  # 09:00 UTC
    now = "new Date(Date.UTC(2029, 5, 1))"
    berlin = run_js(f'BK.mrkdwn({token}, {{timeZone: "Europe/Berlin", now: {now}}})')
    new_york = run_js(f'BK.mrkdwn({token}, {{timeZone: "America/New_York", now: {now}}})')
    assert ">Jan 1, 2030 at 10:00 AM</time>" in berlin
    assert ">Jan 1, 2030 at 4:00 AM</time>" in new_york
    today = run_js(f'BK.mrkdwn({token}, {{timeZone: "UTC", now: new Date(Date.UTC(2030, 0, 1, 12))}})')
    assert ">Today at 9:00 AM</time>" in today


def test_inputs_carry_their_labels_errors_and_initial_values() -> None:
    html = render(EVERY_KIND[6:9], errors={"i1": "Device must match ^[a-z0-9]"})
    assert 'class="bk-block bk-input-block bk-has-error"' in html
    assert '<div class="bk-error" role="alert">Device must match ^[a-z0-9]</div>' in html
    assert 'value="core1"' in html and "(optional)" in html and 'type="checkbox"' in html


def test_a_file_input_shows_its_label_and_says_the_file_is_attached_in_slack() -> None:
    html = render(EVERY_KIND[-1:])
    assert "Config file" in html and 'type="file"' in html and " disabled>" in html
    assert "Attach the file in Slack: the playground does not upload files." in html
