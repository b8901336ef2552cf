"""Which management actions a scheduled job offers, by its state: pause a recurring one that runs, resume a paused
one, cancel any that has not ended. Who may take them is checked when they are taken (``requests.check_cancel``,
``check_pause``, ``check_resume``); a menu offers what both its state and those checks allow the person looking.

Pure: must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from bot.domain import requests
from bot.domain.approvals import RequestFacts
from bot.domain.errors import InvalidStateError, PermissionDeniedError
from bot.domain.permissions import Actor, Policy
from bot.domain.schedules import RECURRING, IntervalType


class ManageAction(StrEnum):
    """What a person may do to a scheduled job from a menu.

    PAUSE: skip its due times until resumed (recurring only).
    RESUME: run it on its schedule again, skipping the due times missed while paused.
    CANCEL: end it for good (someone else's request that awaits approval is denied).
    """

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


def offered_actions(*, interval: IntervalType, paused: bool, enabled: bool) -> tuple[ManageAction, ...]:
    """The actions a scheduled job's menu offers, in menu order; none once it has ended."""
    if not enabled:
        return ()
    if interval in RECURRING:
        return (ManageAction.RESUME if paused else ManageAction.PAUSE, ManageAction.CANCEL)
    return (ManageAction.CANCEL,)


def permitted_actions(request: RequestFacts, *, actor: Actor, policy: Policy,
                      paused: bool) -> tuple[ManageAction, ...]:
    """The actions the scheduled job's menu offers this actor: those its state allows that the checks applied on a
    click (``requests.check_cancel``, ``check_pause``, ``check_resume``) let them take; none to someone who may only
    look at it."""
    checks: dict[ManageAction, Callable[[], object]] = {
        ManageAction.CANCEL: lambda: requests.check_cancel(request, actor=actor, policy=policy),
        ManageAction.PAUSE: lambda: requests.check_pause(request, actor=actor, policy=policy, paused=paused),
        ManageAction.RESUME: lambda: requests.check_resume(request, actor=actor, policy=policy, paused=paused),
    }
    permitted: list[ManageAction] = []
    for action in offered_actions(interval=request.interval, paused=paused, enabled=request.enabled):
        try:
            checks[action]()
        except (PermissionDeniedError, InvalidStateError):
            continue
        permitted.append(action)
    return tuple(permitted)
