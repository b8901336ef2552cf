"""How jobgate's processes log: readable lines (``text``, the default) or one JSON object per line (``json``).

``JOBGATE_LOG_FORMAT=json`` uses ``python-json-logger``: each line has ``time`` (ISO 8601, UTC), ``level``,
``logger`` and ``message``, the traceback as ``exc_info`` when there is one, and ``job_result_id`` /
``scheduled_job_id`` when the line is about a run or a scheduled job: a caller passes them with ``extra=ids(...)``,
or sets them for a stretch of work with ``ids_in_context``; either way they show in text lines too, in brackets.
Must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"
ID_FIELDS = ("job_result_id", "scheduled_job_id")

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("jobgate_log_ids", default={})  # noqa: B039


class LogFormat(StrEnum):
    """``JOBGATE_LOG_FORMAT``: ``text`` (readable lines) or ``json`` (one JSON object per line)."""

    TEXT = "text"
    JSON = "json"


def ids(*, job_result_id: str | None = None, scheduled_job_id: str | None = None) -> dict[str, str]:
    """The ``extra=`` of a log call about a run or a scheduled job (the ids that are known)."""
    found = {"job_result_id": job_result_id, "scheduled_job_id": scheduled_job_id}
    return {key: value for key, value in found.items() if value}


def about(*, job_result_id: str | None = None, scheduled_job_id: str | None = None, job: str | None = None,
          user_id: str | None = None) -> dict[str, str]:
    """The ``extra=`` of a line about what someone did: the ids, the job's slug and the user (those that are known).

    ``job`` and ``user_id`` are JSON fields only; a text line names them in its message.
    """
    found = {**ids(job_result_id=job_result_id, scheduled_job_id=scheduled_job_id), "job": job, "user_id": user_id}
    return {key: value for key, value in found.items() if value}


@contextmanager
def ids_in_context(*, job_result_id: str | None = None, scheduled_job_id: str | None = None) -> Iterator[None]:
    """Every line logged by this thread (or task) meanwhile carries these ids, unless it names its own."""
    token = _context.set({**_context.get(), **ids(job_result_id=job_result_id, scheduled_job_id=scheduled_job_id)})
    try:
        yield
    finally:
        _context.reset(token)


class _IdsFilter(logging.Filter):
    """Adds the ids in context to a record, and ``ids``: the ids as text for the readable format."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not getattr(record, key, None):
                setattr(record, key, value)
        shown = [f"{key}={getattr(record, key)}" for key in ID_FIELDS if getattr(record, key, None)]
        record.ids = f" [{' '.join(shown)}]" if shown else ""
        return True


class _JsonLines(JsonFormatter):
    """time, level, logger, message first; the ids and other extras after; no text-only helper fields."""

    def add_fields(self, log_data: dict[str, object], record: logging.LogRecord, message_dict: dict[str, object]) \
            -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("ids", None)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _http_version, status = record.args  # JOBGATE_ACCESS_LOG's lines, as fields too
            log_data.update(client=client, method=method, path=path, status=status)
        for key in ("color_message",):  # uvicorn's copy of the message with terminal colours
            log_data.pop(key, None)


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of ``log_format``."""
    if log_format is LogFormat.JSON:
        return _JsonLines("{levelname}{name}{message}", style="{", timestamp="time",
                          rename_fields={"levelname": "level", "name": "logger"}, json_ensure_ascii=False)
    return logging.Formatter(TEXT_FORMAT)


def configure(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr in ``log_format`` (replacing any handler it had)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(_IdsFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
