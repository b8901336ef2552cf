"""The job author's API: ``Job``, its ``Meta`` options, the variable classes and the ``log_*`` methods.

A job is written the Nautobot 1.x way::

    from bot.jobs import Job, StringVar, IntegerVar

    class RebootDevice(Job):
        class Meta:
            name = "Reboot device"
            approval_required = True
            has_sensitive_variables = False

        device = StringVar(description="Device name")
        delay = IntegerVar(default=0, min_value=0, max_value=600)

        def run(self, data, commit):
            self.log_info(message=f"Rebooting {data['device']}")

Owns ``Job``, ``JobInfo``/``job_info`` (class-level introspection), ``LogLevel`` and ``LogEntry``. The variable classes
are defined in ``bot.domain.variables`` and re-exported here. Must not import Slack, SQLAlchemy, ``storage`` or
``handlers``: job modules import this file, and it must stay cheap and side-effect free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from bot.domain.variables import (
    BooleanVar,
    ChoiceVar,
    FileVar,
    IntegerVar,
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    MultiChoiceVar,
    MultiObjectVar,
    ObjectVar,
    StringVar,
    TextVar,
    UploadedFile,
    Variable,
)

__all__ = [
    "BooleanVar",
    "ChoiceVar",
    "FileVar",
    "IPAddressVar",
    "IPAddressWithMaskVar",
    "IPNetworkVar",
    "IntegerVar",
    "Job",
    "JobInfo",
    "LogEntry",
    "LogLevel",
    "MultiChoiceVar",
    "MultiObjectVar",
    "ObjectVar",
    "SoftTimeLimitExceeded",
    "StringVar",
    "TextVar",
    "UploadedFile",
    "Variable",
    "defines_run",
    "job_info",
]

_BOOLEAN_META = ("approval_required", "has_sensitive_variables", "hidden")
_LIMIT_META = ("soft_time_limit", "time_limit")
_META_DEFAULTS: dict[str, object] = {
    "description": "",
    "approval_required": False,
    "has_sensitive_variables": True,
    "hidden": False,
    "soft_time_limit": None,
    "time_limit": None,
    "key_variable": None,
}


class SoftTimeLimitExceeded(Exception):
    """Raised inside a running job when it passes ``Meta.soft_time_limit``; catch it to clean up and stop.

    A job still running at ``Meta.time_limit`` is recorded as errored and abandoned.
    """


class LogLevel(StrEnum):
    """Level of a job log entry (Nautobot's ``LogLevelChoices``).

    DEBUG: detail for whoever debugs the job.
    INFO: what the job is doing.
    SUCCESS: something the job set out to do worked.
    WARNING: something looks wrong but the job carries on.
    FAILURE: something failed; the job result ends ``failed``.
    """

    DEBUG = "debug"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One line of a job's log.

    Attributes:
        level: the entry's level.
        message: the text.
        obj: the object the entry is about, as text, or None.
        logged_at: when it was logged (aware UTC).
    """

    level: LogLevel
    message: str
    obj: str | None
    logged_at: datetime


@dataclass(frozen=True, kw_only=True)
class JobInfo:
    """What a job class declares, resolved from its ``Meta`` (with inheritance) and its variables.

    Attributes:
        name: ``Meta.name``, else the class name. Not inherited from a parent's ``Meta``: a name identifies a job.
        description: ``Meta.description`` ("" by default).
        approval_required: runs only after someone approves (default False).
        has_sensitive_variables: its data is never stored and it only runs immediately (default True, as Nautobot).
        hidden: not listed by default (still discovered and runnable).
        soft_time_limit: seconds after which the job is asked to stop, or None.
        time_limit: seconds after which the job is stopped, or None.
        variables: the variables by name in declaration order, inherited ones first.
        key_variable: ``Meta.key_variable``, the variable whose value names a run ("Reboot device · core-sw-17"),
            or None to let jobgate pick (the first required text variable).
        is_runnable_definition: False when the job is both sensitive and approval-required: such a job can never run.
    """

    name: str
    description: str
    approval_required: bool
    has_sensitive_variables: bool
    hidden: bool
    soft_time_limit: float | None
    time_limit: float | None
    variables: dict[str, Variable]
    is_runnable_definition: bool
    key_variable: str | None = None


class Job(ABC):
    """Base class of every job.

    Subclasses declare a ``Meta`` class, variables as class attributes, and ``run(self, data, commit)``. ``commit`` is
    False for a dry run: the job then changes nothing and reports what it would change. A job that logs a failure
    (``log_failure``) or raises ends ``failed``.

    Attributes:
        log_entries: the entries logged so far, in order.
        failed: True once ``log_failure`` was called.
        user_id: the Slack user ID the job runs as (set by the executor), or None.
        job_result_id: the id of the job result being produced (set by the executor), or None.
    """

    reserved_names: ClassVar[frozenset[str]] = frozenset(
        {
            "Meta",
            "run",
            "log_entries",
            "failed",
            "user_id",
            "job_result_id",
            "log_debug",
            "log_info",
            "log_success",
            "log_warning",
            "log_failure",
            "reserved_names",
        }
    )

    class Meta:
        """Options of the job; see ``JobInfo`` for each one and its default."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Check the new job class, so that a broken definition fails when its module loads.

        Raises:
            TypeError: a variable uses a name ``Job`` needs, or a ``Meta`` option has the wrong type.
            ValueError: a ``Meta`` option has a nonsensical value.
        """
        super().__init_subclass__(**kwargs)
        for name, attr in cls.__dict__.items():
            if isinstance(attr, Variable) and name in Job.reserved_names:
                raise TypeError(f"{cls.__name__}: a variable cannot be called {name!r}, Job uses that name")
        job_info(cls)

    def __init__(self) -> None:
        """Create a job instance, ready to ``run``."""
        self.log_entries: list[LogEntry] = []
        self.failed = False
        self.user_id: str | None = None
        self.job_result_id: str | None = None

    @abstractmethod
    def run(self, data: dict[str, object], commit: bool) -> object:
        """Do the job's work; every job defines it (discovery reports a job class without it).

        Args:
            data: the cleaned variable values by name.
            commit: False for a dry run (change nothing).

        Returns:
            Anything: it is kept, as text, as the job result's ``output`` (shown in Slack and the REST API), as
            Nautobot 1.x keeps it; None keeps nothing.
        """

    def _log(self, level: LogLevel, args: tuple[object, ...], message: object, obj: object) -> None:
        """Append a log entry; accepts ``(message)``, ``(obj, message)`` or keywords."""
        if len(args) > 2:
            raise TypeError(f"log_{level}() takes at most 2 positional arguments ({len(args)} given)")
        if len(args) == 2:
            if message is not None or obj is not None:
                raise TypeError(f"log_{level}() got obj and message both positionally and by keyword")
            obj, message = args
        elif len(args) == 1:
            if message is None:
                message = args[0]
            elif obj is None:
                obj = args[0]
            else:
                raise TypeError(f"log_{level}() got obj and message both positionally and by keyword")
        entry = LogEntry(
            level=level,
            message="" if message is None else str(message),
            obj=None if obj is None else str(obj),
            logged_at=datetime.now(UTC),
        )
        self.log_entries.append(entry)
        if level is LogLevel.FAILURE:
            self.failed = True

    def log_debug(self, *args: object, message: object = None, obj: object = None) -> None:
        """Log a debug message: ``log_debug("msg")``, ``log_debug(obj, "msg")`` or ``log_debug(message=, obj=)``."""
        self._log(LogLevel.DEBUG, args, message, obj)

    def log_info(self, *args: object, message: object = None, obj: object = None) -> None:
        """Log an informational message (same call forms as ``log_debug``)."""
        self._log(LogLevel.INFO, args, message, obj)

    def log_success(self, *args: object, message: object = None, obj: object = None) -> None:
        """Log a success (same call forms as ``log_debug``)."""
        self._log(LogLevel.SUCCESS, args, message, obj)

    def log_warning(self, *args: object, message: object = None, obj: object = None) -> None:
        """Log a warning (same call forms as ``log_debug``)."""
        self._log(LogLevel.WARNING, args, message, obj)

    def log_failure(self, *args: object, message: object = None, obj: object = None) -> None:
        """Log a failure and mark the job failed (same call forms as ``log_debug``)."""
        self._log(LogLevel.FAILURE, args, message, obj)


def _meta_value(cls: type[Job], option: str) -> object:
    """The value of a ``Meta`` option: the nearest class in the MRO whose ``Meta`` sets it, else the default."""
    for klass in cls.__mro__:
        meta = klass.__dict__.get("Meta")
        if meta is not None and hasattr(meta, option):
            return getattr(meta, option)
    return _META_DEFAULTS[option]


def _check_limit(cls: type[Job], option: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{cls.__name__}.Meta.{option} must be a number of seconds or None, not {value!r}")
    if not value > 0:
        raise ValueError(f"{cls.__name__}.Meta.{option} must be a positive number of seconds, not {value!r}")
    return value


def job_info(cls: type[Job]) -> JobInfo:
    """Resolve what a job class declares.

    ``Meta`` options fall back to the parents' ``Meta`` and then to the defaults, except ``name``, which is the
    class's own ``Meta.name`` or else its class name. Unknown ``Meta`` options (Nautobot's ``field_order``,
    ``commit_default``, ...) are ignored.

    Args:
        cls: a ``Job`` subclass.

    Returns:
        The resolved ``JobInfo``.

    Raises:
        TypeError: an option has the wrong type.
        ValueError: an option has a nonsensical value (empty name, non-positive limit, soft limit above the hard one).
    """
    own_meta = cls.__dict__.get("Meta")
    name = getattr(own_meta, "name", cls.__name__) if own_meta is not None else cls.__name__
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{cls.__name__}.Meta.name must be a non-empty string, not {name!r}")
    description = _meta_value(cls, "description")
    if not isinstance(description, str):
        raise TypeError(f"{cls.__name__}.Meta.description must be a string, not {description!r}")
    flags: dict[str, bool] = {}
    for option in _BOOLEAN_META:
        value = _meta_value(cls, option)
        if not isinstance(value, bool):
            raise TypeError(f"{cls.__name__}.Meta.{option} must be True or False, not {value!r}")
        flags[option] = value
    soft, hard = (_check_limit(cls, option, _meta_value(cls, option)) for option in _LIMIT_META)
    if soft is not None and hard is not None and soft > hard:
        raise ValueError(f"{cls.__name__}.Meta.soft_time_limit ({soft}) is greater than time_limit ({hard})")
    variables: dict[str, Variable] = {}
    for klass in reversed(cls.__mro__):
        for attr_name, attr in klass.__dict__.items():
            if isinstance(attr, Variable):
                variables[attr_name] = attr
            elif attr_name in variables:  # a subclass replaced an inherited variable with something else
                del variables[attr_name]
    key = _meta_value(cls, "key_variable")
    if key is not None and (not isinstance(key, str) or key not in variables):
        raise ValueError(f"{cls.__name__}.Meta.key_variable must name one of its variables "
                         f"({', '.join(variables) or 'it has none'}), not {key!r}")
    return JobInfo(
        name=name.strip(),
        description=description,
        approval_required=flags["approval_required"],
        has_sensitive_variables=flags["has_sensitive_variables"],
        hidden=flags["hidden"],
        soft_time_limit=soft,
        time_limit=hard,
        variables=variables,
        is_runnable_definition=not (flags["approval_required"] and flags["has_sensitive_variables"]),
        key_variable=key,
    )


def defines_run(cls: type[Job]) -> bool:
    """Whether a job class (or one of its parents below ``Job``) defines ``run()``."""
    return getattr(cls, "run", None) is not Job.run
