"""What people type shows literally everywhere jobgate writes it in Slack: a schedule name, a variable's value, a reason
or a mistyped ID can never become an ``@channel``, a mention or a disguised link, neither in a message's blocks nor in
its ``text`` (the push notification), nor in the Home tab, a log thread or an ephemeral answer."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, press, run_jobs

EVIL_NAME = "<!channel> urgent <https://evil.example/sso|Approve in jobgate> & more"
EVIL_DEVICE = "<!here> core <@UNOBODY>"
FORMED = ("<!channel", "<!here", "<https://evil", "<@UNOBODY>")
"""What would notify everybody, mention someone or draw a link, if it reached Slack unescaped (UNOBODY may approve
nothing, so jobgate itself never mentions them)."""


def as_slack_sends(text: str) -> str:
    """A slash command's text as Slack sends it: ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown_texts(node: Any) -> list[str]:
    """Every ``text`` Slack renders in a payload (message text, block and element texts, fields), at any depth."""
    found: list[str] = []
    if isinstance(node, str) and node[:1] in "{[":
        try:
            node = json.loads(node)
        except ValueError:
            return found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(shown_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(shown_texts(item))
    return found


def everything_shown(stack: Stack) -> list[str]:
    texts = [t for call in stack.fake.calls for t in shown_texts(call.params)]
    return texts + [t for ack in stack.slack.acks if ack.json for t in shown_texts(ack.json)]


def test_typed_names_values_and_ids_show_literally_on_every_surface(stack: Stack) -> None:
    command = f'run testjobs.ApprovalJob device="{EVIL_DEVICE}" --at "2030-01-16 09:00" --name "{EVIL_NAME}"'
    assert stack.slack.command(as_slack_sends(command), user_id="UALICE").status == 200
    answer = stack.fake.wait_for("response_url")[0]
    assert "&lt;!channel&gt; urgent" in text_of(answer)
    scheduled_job_id = stack.services.listings.list_approval_queue(ADMIN).items[0].id

    stack.deliver()
    request = stack.posted(APPROVAL_CHANNEL)[0]
    notification = request.params["text"]
    assert "Approval job · &lt;!here&gt; core &lt;@UNOBODY&gt;" in notification  # the key value, in the title
    assert "&lt;!channel&gt; urgent &lt;https://evil.example/sso|Approve in jobgate&gt; &amp; more" in text_of(request)
    assert "&lt;!here&gt; core &lt;@UNOBODY&gt;" in text_of(request)

    press(stack, request, "Dry run", user_id="UAPPROVER")  # its log goes into the request's thread
    run_jobs(stack)
    stack.deliver()
    for typed in ("queue", "scheduled", f"approve {as_slack_sends('<!channel>')}",
                  f"deny {as_slack_sends('<https://evil.example|' + scheduled_job_id + '>')}"):
        assert stack.slack.command(typed, user_id="UAPPROVER").status == 200
    assert stack.slack.app_home_opened(user_id="UAPPROVER").status == 200
    assert stack.slack.app_home_opened(user_id="UALICE").status == 200
    stack.fake.wait_for("views.publish", 2)

    press(stack, request, "Approve", user_id="UAPPROVER")  # the message is updated, the requester told
    stack.deliver()
    run_jobs(stack)
    stack.deliver()
    dms = stack.posted("UALICE")
    assert any("approved" in dm.params["text"] and "&lt;!channel&gt; urgent" in dm.params["text"] for dm in dms)
    assert any("device=&lt;!here&gt; core" in text_of(call) for call in stack.fake.calls_to("chat.postMessage")
               if call.params.get("thread_ts"))

    shown = everything_shown(stack)
    assert len(shown) > 40
    leaked = [text for text in shown if any(formed in text for formed in FORMED)]
    assert leaked == []
