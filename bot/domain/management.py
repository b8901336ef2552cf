"""Which management actions a scheduled job offers, by its state: pause a recurring one that runs, resume a paused
one, cancel any that has not ended. Who may take them is checked when they are taken (``requests.check_cancel``,
``check_pause``, ``check_resume``); this only keeps menus from offering what its state refuses.

Pure: must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from enum import StrEnum

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
