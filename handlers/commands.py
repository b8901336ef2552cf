"""The ``/jobs`` slash command and its subcommands (CONTRACT.md "Slack").

Help and input errors are answered in the ack itself (parsing is pure, so that stays fast); everything that reads or
writes the database acks first and answers through ``response_url``, always privately. ``/jobs run JOB`` alone opens
the run modal. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.domain import schedule_names, schedules, times
from bot.domain.approvals import ApprovalState
from bot.domain.errors import InvalidDataError
from bot.domain.permissions import Actor
from bot.domain.records import JobRecord
from bot.domain.variables import TypedText
from bot.services import ScheduleInput, Services
from handlers import Listeners, blocks, ids
from handlers.actions import Directory
from handlers.blocks import Message
from handlers.command_line import Command, RunArgs, parse_command


def register(app: Listeners) -> None:
    """Bind ``/jobs``."""
    app.command(ids.COMMAND)(handle_job_command)


def handle_job_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, services: Services,
                       directory: Directory) -> None:
    """Parse ``/jobs …`` (errors answer in the ack), then run the one subcommand and answer privately."""
    parsed = parse_command(str(command.get("text") or ""))
    if parsed.name == "help":
        ack(response_type="ephemeral", **blocks.build_help())
        return
    ack()
    user_id = str(command["user_id"])
    actor = directory.actor(user_id)
    if parsed.run is not None and parsed.run.opens_modal:
        job = services.listings.get_run_form(parsed.run.job, actor)
        client.views_open(trigger_id=command["trigger_id"], view=blocks.build_run_modal(
            job, time_zone=directory.time_zone(user_id), now=services.clock()))
        return
    message = SUBCOMMANDS[parsed.name](parsed, actor, services, lambda: directory.time_zone(user_id))
    respond(response_type="ephemeral", replace_original=False, **message)


Subcommand = Callable[[Command, Actor, Services, Callable[[], str]], Message]


def _list(_parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    return blocks.build_job_list(services.listings.list_jobs(actor))


def schedule_input(run: RunArgs, time_zone: str, now: datetime) -> ScheduleInput | None:
    """The schedule of a one-line ``/jobs run``, its time read in the user's zone; None for "now" without a reason.

    ``--every`` without ``--start`` starts at the next whole minute (at least 15 s ahead).
    """
    if run.interval is None:
        immediately = schedules.IntervalType.IMMEDIATELY.value
        return ScheduleInput(interval=immediately, reason=run.reason) if run.reason else None
    if run.interval is schedules.IntervalType.IMMEDIATELY:  # `--now --cron`: the schedule rules refuse the crontab
        return ScheduleInput(interval=run.interval.value, crontab=run.crontab, time_zone=time_zone, reason=run.reason)
    start = times.parse_time(run.at, time_zone) if run.at else schedules.default_start(run.interval, now)
    name = run.name or schedule_names.default_schedule_name(run.job, start=start, crontab=run.crontab,
                                                       time_zone=time_zone, now=now)
    return ScheduleInput(interval=run.interval.value, name=name, start_time=start, crontab=run.crontab,
                         time_zone=time_zone, reason=run.reason)


def _run(parsed: Command, actor: Actor, services: Services, zone: Callable[[], str]) -> Message:
    assert parsed.run is not None
    run = parsed.run
    time_zone = zone()
    try:
        outcome = services.requests.request_job(actor=actor, job=run.job,
                                                data={name: TypedText(value) for name, value in run.data.items()},
                                                commit=not run.dry_run,
                                                schedule=schedule_input(run, time_zone, services.clock()),
                                                time_zone=time_zone)
    except InvalidDataError as error:
        raise _files_need_the_form(error, services.listings.get_job(run.job, actor)) from None
    return blocks.build_run_outcome(scheduled_job=outcome.scheduled_job, job_result=outcome.job_result,
                                    now=services.clock())


def _files_need_the_form(error: InvalidDataError, job: JobRecord) -> InvalidDataError:
    """The refusal of a one-line run, where each file variable's message says to attach the file in the form."""
    if not isinstance(error.errors, dict):
        return error
    files = {name for name, spec in job.variables.items() if spec.get("kind") == "file"}
    hint = f"A file: attach it in the form that `/jobs run {job.slug}` opens (the one-line command takes no files)."
    return InvalidDataError({name: [hint] if name in files else messages for name, messages in error.errors.items()})


def _queue(_parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    return blocks.build_queue(services.listings.list_approval_queue(actor, limit=20), now=services.clock())


def _scheduled(_parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    page = services.listings.list_scheduled_jobs(actor, limit=30)
    return blocks.build_scheduled_list(page, now=services.clock(),
                                       menus=services.listings.menu_actions(actor, page.items))


def _results(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    return blocks.build_results_list(services.listings.list_job_results(actor, job=parsed.target, limit=20))


def _approve(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    record = services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=target, force=parsed.force,
                                                      comment=parsed.comment)
    return blocks.build_decision_notice(record, verb="approved")


def _deny(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    record = services.decisions.deny_scheduled_job(actor=actor, scheduled_job_id=target, reason=parsed.reason)
    return blocks.build_decision_notice(record, verb="withdrew" if record.user_id == actor.user_id else "denied")


def _dry_run(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    result = services.decisions.dry_run_scheduled_job(actor=actor, scheduled_job_id=target)
    return blocks.build_run_outcome(scheduled_job=None, job_result=result, now=services.clock())


def _cancel(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    ended = services.management.cancel_scheduled_job(actor=actor, scheduled_job_id=target)
    # Ending someone else's pending request denies it.
    denied = ended.approval_state is ApprovalState.DENIED and ended.user_id != actor.user_id
    return blocks.build_decision_notice(ended, verb="denied" if denied else "cancelled")


def _pause(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    return blocks.build_decision_notice(services.management.pause_scheduled_job(actor=actor,
                                                                                scheduled_job_id=target),
                                        verb="paused")


def _resume(parsed: Command, actor: Actor, services: Services, _zone: Callable[[], str]) -> Message:
    target = _resolve(parsed, actor, services)
    return blocks.build_decision_notice(services.management.resume_scheduled_job(actor=actor,
                                                                                 scheduled_job_id=target),
                                        verb="resumed")


def _resolve(parsed: Command, actor: Actor, services: Services) -> str:
    """The full ID of the scheduled job the command names (its ID, or a unique prefix of it)."""
    assert parsed.target is not None
    return services.listings.resolve_scheduled_job_id(actor, parsed.target)


SUBCOMMANDS: dict[str, Subcommand] = {
    "list": _list,
    "run": _run,
    "queue": _queue,
    "scheduled": _scheduled,
    "results": _results,
    "approve": _approve,
    "deny": _deny,
    "dry-run": _dry_run,
    "cancel": _cancel,
    "pause": _pause,
    "resume": _resume,
}
