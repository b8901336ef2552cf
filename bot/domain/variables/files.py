"""File variables: ``FileVar``, a file the requester attaches (Slack's ``file_input`` in the run modal; base64 or a
multipart upload in the REST API), and ``UploadedFile``, the file-like object the job receives.

A file is cleaned to a JSON object ``{"name", "size", "content_type", "content_base64"}``: it is stored with the
request's other data (so a scheduled or approved run still has it; a job with sensitive variables keeps it in memory
only, like all its data), and shown by its name and size, never by its content (``summarise``).

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from bot.domain.variables.base import TypedText, Variable, VariableKind

DEFAULT_MAX_SIZE = 512 * 1024
"""Bytes a ``FileVar`` accepts unless it says otherwise."""
CONTENT_KEY = "content_base64"
NOT_A_FILE_MESSAGE = (
    'Attach a file: its content in base64, or {"name": "…", "content": "<base64>"} (or a multipart upload).'
)
NOT_BASE64_MESSAGE = "The file's content is not valid base64."
TYPED_FILE_MESSAGE = "A file cannot be typed on the command line: attach it in the form `/jobs run JOB` opens."


def _size_text(size: int) -> str:
    return f"{size:,} bytes"


@dataclass(frozen=True)
class SubmittedFile:
    """A file as an edge received it (a Slack download, a multipart part), before it is cleaned.

    Attributes:
        name: the file name the requester gave it.
        content: its bytes.
        content_type: its media type, or "".
    """

    name: str
    content: bytes = field(repr=False)
    content_type: str = ""


class UploadedFile(io.BytesIO):
    """What a job receives for a ``FileVar``: a file opened for reading in binary, like the ``InMemoryUploadedFile``
    Nautobot passes (``read()``, ``chunks()``, ``name``, ``size``, ``content_type``).

    Args:
        content: the bytes.
        name: the file name.
        content_type: the media type, or "".
    """

    def __init__(self, content: bytes, *, name: str, content_type: str = "") -> None:
        super().__init__(content)
        self.name = name
        self.size = len(content)
        self.content_type = content_type
        self.charset: str | None = None

    def chunks(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The content from the start, in pieces of at most ``chunk_size`` bytes (as Django's ``File.chunks``)."""
        self.seek(0)
        while piece := self.read(chunk_size):
            yield piece

    def multiple_chunks(self, chunk_size: int = 64 * 1024) -> bool:
        """Whether ``chunks()`` yields more than one piece."""
        return self.size > chunk_size

    def __repr__(self) -> str:
        return f"<UploadedFile: {self.name} ({self.content_type or 'unknown type'}, {self.size} bytes)>"


def is_stored_file(value: object) -> bool:
    """Whether ``value`` is a file as ``FileVar.clean`` stores it."""
    return isinstance(value, Mapping) and CONTENT_KEY in value and "name" in value


def summarise(value: object) -> object:
    """A stored file without its content (``{"name", "size", "content_type"}``); any other value unchanged."""
    if not is_stored_file(value):
        return value
    assert isinstance(value, Mapping)
    return {"name": value.get("name"), "size": value.get("size"), "content_type": value.get("content_type")}


def summarise_data(data: Mapping[str, object] | None) -> dict[str, object] | None:
    """A job's data with every file shown by its name, size and type only (for listings, messages and the API)."""
    if data is None:
        return None
    return {key: summarise(value) for key, value in data.items()}


def describe_file(value: object) -> str:
    """``"config.txt (1,234 bytes)"`` for a stored file (for messages)."""
    summary = summarise(value)
    if not isinstance(summary, Mapping):
        return str(value)
    return f"{summary.get('name')} ({_size_text(int(str(summary.get('size') or 0)))})"


class FileVar(Variable):
    """A file, at most ``max_size`` bytes; the job receives an ``UploadedFile`` (binary, file-like).

    Accepted values: a ``SubmittedFile`` (the edges), base64 text (the REST API's JSON; the file is then named after
    the variable), ``{"name": …, "content": <base64>, "content_type": …}``, or a file as stored.
    """

    kind = VariableKind.FILE

    def __init__(
        self,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        label: str | None = None,
        description: str = "",
        required: bool = True,
    ) -> None:
        """Create a file variable.

        Args:
            max_size: the largest file accepted, in bytes.
            label: see ``Variable``.
            description: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: ``max_size`` is not a positive whole number.
        """
        super().__init__(label=label, description=description, required=required)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise TypeError(f"{type(self).__name__} max_size must be a positive number of bytes, not {max_size!r}")
        self.max_size = max_size

    def _convert(self, value: object) -> object:
        if isinstance(value, TypedText):
            raise ValueError(TYPED_FILE_MESSAGE)
        if isinstance(value, SubmittedFile):
            name, content, content_type = value.name, value.content, value.content_type
        elif isinstance(value, str):
            name, content, content_type = self.name or "file", _decode(value), ""
        elif isinstance(value, Mapping) and isinstance(value.get("name"), str):
            encoded = value.get("content", value.get(CONTENT_KEY))
            if not isinstance(encoded, str):
                raise ValueError(NOT_A_FILE_MESSAGE)
            name, content = str(value["name"]), _decode(encoded)
            content_type = str(value.get("content_type") or "")
        else:
            raise ValueError(NOT_A_FILE_MESSAGE)
        if len(content) > self.max_size:
            raise ValueError(f"The file is too large: {_size_text(len(content))}; at most {_size_text(self.max_size)} "
                             "are accepted.")
        return {"name": name.strip() or (self.name or "file"), "size": len(content), "content_type": content_type,
                CONTENT_KEY: base64.b64encode(content).decode("ascii")}

    def to_python(self, value: object) -> object:
        """The ``UploadedFile`` of a stored file (None stays None)."""
        if not is_stored_file(value):
            return None
        assert isinstance(value, Mapping)
        return UploadedFile(base64.b64decode(str(value[CONTENT_KEY])), name=str(value["name"]),
                            content_type=str(value.get("content_type") or ""))

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``max_size`` in bytes."""
        return {**super().describe(), "max_size": self.max_size}


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(NOT_BASE64_MESSAGE) from None
