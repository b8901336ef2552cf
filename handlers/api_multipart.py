"""Multipart run requests: Nautobot's form variant of ``POST /api/extras/jobs/{id}/run/``, for jobs with files.

Each variable is a form field named after it (a file is a file part; a field sent several times is a list), and the
options are Nautobot's flattened fields: ``_commit``, ``_schedule_name``, ``_schedule_interval``,
``_schedule_start_time``, ``_schedule_crontab`` and jobgate's ``_schedule_time_zone``. ``body_from_multipart`` turns
them into the JSON body's shape, so the same parser and service handle both. The parts are read with the standard
library's MIME parser; the body was already bounded to 1 MiB. Must not import sqlalchemy or storage.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from bot.domain.errors import FieldErrors
from bot.domain.variables import SubmittedFile
from handlers.api_parse import NULL_CHARACTER_MESSAGE

OPTION_FIELDS = {
    "_commit": ("commit", None),
    "_schedule_name": ("schedule", "name"),
    "_schedule_interval": ("schedule", "interval"),
    "_schedule_start_time": ("schedule", "start_time"),
    "_schedule_crontab": ("schedule", "crontab"),
    "_schedule_time_zone": ("schedule", "time_zone"),
}
MALFORMED_MESSAGE = "Multipart form parse error: send the variables as form fields and files as file parts."


def is_multipart(content_type: str | None) -> bool:
    """Whether a request's ``Content-Type`` is ``multipart/form-data``."""
    return (content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


def _parts(raw: bytes, content_type: str) -> list[EmailMessage]:
    if not content_type.isascii() or not content_type.isprintable():
        raise FieldErrors({"non_field_errors": [MALFORMED_MESSAGE]})
    document = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\nMIME-Version: 1.0\r\n\r\n" + raw
    )
    if not isinstance(document, EmailMessage) or not document.is_multipart() or document.defects:
        raise FieldErrors({"non_field_errors": [MALFORMED_MESSAGE]})
    return [part for part in document.iter_parts() if isinstance(part, EmailMessage)]


def body_from_multipart(raw: bytes, content_type: str) -> dict[str, object]:
    """The run body ``{"data", "commit", "schedule"}`` a multipart form stands for.

    Args:
        raw: the request body.
        content_type: its ``Content-Type`` header (with the boundary).

    Raises:
        FieldErrors: the form cannot be read, a part has no name, or a text field is not UTF-8.
    """
    data: dict[str, object] = {}
    body: dict[str, object] = {}
    for part in _parts(raw, content_type):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise FieldErrors({"non_field_errors": [MALFORMED_MESSAGE]})
        content = part.get_payload(decode=True)
        payload = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        value: object
        if filename is not None:
            value = SubmittedFile(name=filename, content=payload, content_type=part.get_content_type())
        else:
            try:
                value = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldErrors({name: ["Text must be valid UTF-8."]}) from None
            if "\x00" in value:
                raise FieldErrors({name: [NULL_CHARACTER_MESSAGE]})
        if name in OPTION_FIELDS:
            key, sub = OPTION_FIELDS[name]
            if sub is None:
                body[key] = value
            else:
                schedule = body.setdefault("schedule", {})
                assert isinstance(schedule, dict)
                schedule[sub] = value
        elif name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    return {**body, "data": data}
