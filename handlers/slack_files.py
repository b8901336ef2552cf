"""Files attached in the run modal (``file_input``): fetched from Slack with the bot's token when the modal is
submitted, so the request carries the file itself (a scheduled or approved run still has it; Slack is never asked
again).

The file is looked up with ``files.info`` (needs the ``files:read`` scope) and downloaded from its
``url_private_download`` with the bot token, which is only ever sent to Slack's own hosts (``*.slack.com`` over HTTPS,
or the host of ``JOBGATE_SLACK_API_URL``). Its content is never logged. Anything that goes wrong is an
``InputError`` on the file's input block, so the requester sees it in the modal. Must not import SQLAlchemy or
storage.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.variables import SubmittedFile
from handlers import ids
from handlers.payloads import InputError, SlackFile

MAX_DOWNLOAD = 10 * 1024 * 1024
"""The largest file fetched: Slack's own limit for ``file_input``. A job's ``FileVar`` usually accepts less."""
DOWNLOAD_TIMEOUT = 2.0
"""Seconds a download may take: the modal's answer is due within Slack's 3 s."""


def fetch_attached_files(client: WebClient, data: dict[str, object]) -> dict[str, object]:
    """The run modal's data with each attached file (a list of ``SlackFile``) replaced by its ``SubmittedFile``.

    Args:
        client: the bot's Web API client.
        data: variable name -> value, as ``parse_run_submission`` read it.

    Raises:
        InputError: a file could not be fetched (on that file's input block).
    """
    fetched: dict[str, object] = {}
    for name, value in data.items():
        if isinstance(value, list) and value and all(isinstance(item, SlackFile) for item in value):
            fetched[name] = _fetch(client, value[0], block_id=f"{ids.VARIABLE_BLOCK_PREFIX}{name}")
        else:
            fetched[name] = value
    return fetched


def _fetch(client: WebClient, attached: SlackFile, *, block_id: str) -> SubmittedFile:
    try:
        info: Any = client.files_info(file=attached.id)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        if error == "missing_scope":
            raise InputError("jobgate cannot read files attached in Slack: the app needs the files:read scope "
                             "(update its manifest and reinstall it).", block_id=block_id) from None
        raise InputError(f"Slack did not give jobgate the file ({error}); attach it again.",
                         block_id=block_id) from None
    file = info.get("file") or {}
    size = int(file.get("size") or 0)
    if size > MAX_DOWNLOAD:
        raise InputError(f"The file is too large: {size:,} bytes.", block_id=block_id)
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    if not _is_slack_url(url, client.base_url):
        raise InputError("Slack did not say where to fetch the file; attach it again.", block_id=block_id)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as answer:
            content = answer.read(MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, TimeoutError, OSError):
        raise InputError("Slack did not send the file in time; submit the form again.", block_id=block_id) from None
    if len(content) > MAX_DOWNLOAD:
        raise InputError("The file is too large.", block_id=block_id)
    return SubmittedFile(name=str(file.get("name") or attached.name or "file"), content=content,
                         content_type=str(file.get("mimetype") or ""))


def _is_slack_url(url: str, api_url: str) -> bool:
    """Whether the bot's token may be sent to ``url``: Slack's hosts over HTTPS, or the configured Web API's host."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == "https" and (parts.hostname or "").endswith(".slack.com"):
        return True
    return bool(parts.netloc) and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
