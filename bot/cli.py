"""The ``jobgate`` command: serve, playground, worker, db upgrade, jobs list|enable|disable, schedules
list|cancel|pause|resume, token create|list|revoke.

Reads ``Settings`` once and passes them in. Wrong arguments or configuration end with one clear line on stderr and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot import logs
from bot.app import build_core, load_policy
from bot.config import ConfigError, Settings, jobs_paths
from bot.domain.approvals import ApprovalState
from bot.domain.errors import DatabaseUnavailableError, DomainError, FieldErrors, NotFoundError
from bot.domain.permissions import OPERATOR_ID, Actor, Policy, PolicyError
from bot.domain.short_ids import AmbiguousIdError, InvalidIdError, parse_id_ref, short
from bot.domain.tokens import MAX_EXPIRES_DAYS
from bot.services import utcnow
from bot.services.tokens import USER_ID_PATTERN
from storage.db import Database, pending_migrations, upgrade

EXIT_USAGE = 2
EXIT_FAILURE = 1
MAX_LISTED = 500
"""The most scheduled jobs ``jobgate schedules list`` prints."""


class CommandError(Exception):
    """A failure to report in one line (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jobgate",
        description="Slack chat-ops bot that runs jobs now, later or on a schedule, behind an approval gate.",
        epilog="Configuration comes from the environment or a .env file in the working directory (see README).",
    )
    parser.add_argument("--version", action="version", version=f"jobgate {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    serve = commands.add_parser("serve", help="run the server: Slack, REST API, scheduler, executor, notifier")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=3000, help="port to listen on, 1-65535 (default 3000)")
    serve.add_argument("--socket-mode", action="store_true", help="receive Slack traffic over Socket Mode")
    serve.add_argument("--no-scheduler", action="store_true", help="web only: serve Slack and the API, run nothing")

    playground = commands.add_parser(
        "playground", help="try jobgate without a Slack workspace: the whole app and a Slack-like page in a browser",
        description="Starts jobgate on a fresh SQLite file with the example jobs and a demo permissions file (Alice "
                    "runs jobs, Bob approves, Carol is admin), a simulated Slack, and a Slack-like page at "
                    "http://127.0.0.1:PORT/ that drives it. Never contacts Slack; SLACK_* settings are ignored.",
    )
    playground.add_argument("--port", type=_port, default=3030, help="port of the page on 127.0.0.1 (default 3030)")
    playground.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")

    worker = commands.add_parser(
        "worker", help="run a Celery worker that executes jobs (JOBGATE_EXECUTOR=celery), on this or another machine",
        description="A Celery worker (prefork pool, late acks) fed through JOBGATE_CELERY_BROKER_URL; it runs jobs, "
                    "records their outcomes in the database, and runs no HTTP server.",
    )
    worker.add_argument("--concurrency", type=_positive, default=None, metavar="N",
                        help="how many jobs run at once (pool processes; default JOBGATE_WORKERS)")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser)
    db_commands.required = True
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")

    jobs = commands.add_parser("jobs", help="inspect and switch jobs on and off")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=_Parser)
    jobs_commands.required = True
    jobs_commands.add_parser("list", help="list the jobs found on JOBGATE_JOBS_PATH and entry points")
    for action in ("enable", "disable"):
        sub = jobs_commands.add_parser(action, help=f"{action} a job (takes effect at once)")
        sub.add_argument("job", metavar="SLUG", help="the job's slug (module.ClassName) or name")

    token = commands.add_parser("token", help="REST API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", parser_class=_Parser)
    token_commands.required = True
    create = token_commands.add_parser("create", help="print a new API token for a Slack user")
    create.add_argument("--user", required=True, metavar="SLACK_USER_ID", help="the Slack user the token acts as")
    create.add_argument("--description", default="", metavar="TEXT", help="what the token is for")
    create.add_argument("--expires", type=_days, default=None, metavar="DAYS",
                        help="days until the token stops working (default: it does not expire)")
    listing = token_commands.add_parser("list", help="list the tokens by their prefix, with user, dates and state")
    listing.add_argument("--user", default=None, metavar="SLACK_USER_ID", help="only the tokens of this user")
    revoke = token_commands.add_parser("revoke", help="end a token at once (its next request gets 403)")
    revoke.add_argument("prefix", metavar="PREFIX", help="the token's prefix, as 'jobgate token list' shows it")

    schedules = commands.add_parser("schedules", help="list, cancel, pause and resume scheduled jobs (as an operator)")
    schedule_commands = schedules.add_subparsers(dest="schedules_command", metavar="ACTION", parser_class=_Parser)
    schedule_commands.required = True
    as_help = ("act as this Slack user, with their permissions as in Slack (user groups of the permissions file "
               "that name Slack user groups do not apply); without it, as an operator with every permission")
    listed = schedule_commands.add_parser("list", help="pending and active scheduled jobs")
    listed.add_argument("--job", default=None, metavar="SLUG", help="only the scheduled jobs of this job")
    listed.add_argument("--as", dest="as_user", default=None, metavar="SLACK_USER_ID", help=as_help)
    for action, does in (("cancel", "end a scheduled job for good (kept for the record)"),
                         ("pause", "skip a recurring scheduled job's due times until it is resumed"),
                         ("resume", "restart a paused scheduled job (the due times missed meanwhile are skipped)")):
        sub = schedule_commands.add_parser(action, help=does)
        sub.add_argument("id", metavar="ID", help="the scheduled job's ID, or a unique prefix of at least 6 characters")
        sub.add_argument("--as", dest="as_user", default=None, metavar="SLACK_USER_ID", help=as_help)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("jobgate")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree not installed
        return "unknown"


def _positive(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes; expected a whole number 1-256")
    return int(value)


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port; expected a whole number 1-65535")
    return int(value)


def _days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_EXPIRES_DAYS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days; expected a whole number "
                                         f"1-{MAX_EXPIRES_DAYS}")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the jobgate command; returns the exit status."""
    args = build_parser().parse_args(argv)
    # The server logs what it does; one-shot commands print their answer and only warnings besides.
    level = logging.INFO if args.command in ("serve", "worker", "playground") else logging.WARNING
    try:
        if args.command == "playground":  # its own settings: of the environment, only the log format counts
            wanted = {k: v for k, v in os.environ.items() if k == "JOBGATE_LOG_FORMAT"}
            settings = Settings.from_env(wanted, cwd=Path(os.devnull))  # no .env, ./jobs or ./policy.yml either
            # ...and the job author's own jobs, beside the examples
            settings = replace(settings, jobs_paths=jobs_paths(os.environ.get("JOBGATE_JOBS_PATH"), Path.cwd()))
        else:
            settings = Settings.from_env(os.environ)
        logs.configure(settings.log_format, level=level)
        return _dispatch(args, settings)
    except (ConfigError, PolicyError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except FieldErrors as exc:
        return _fail(exc.message, EXIT_USAGE)
    except DatabaseUnavailableError as exc:
        return _fail(f"cannot use the database: {exc.cause}", EXIT_FAILURE)
    except (CommandError, DomainError) as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except OperationalError as exc:
        return _fail(f"cannot use the database: {str(exc.orig).strip().splitlines()[0]}", EXIT_FAILURE)
    except SQLAlchemyError as exc:
        return _fail(f"database error: {str(exc).strip().splitlines()[0]}", EXIT_FAILURE)


def _fail(message: str, status: int) -> int:
    print(f"jobgate: error: {message}", file=sys.stderr)
    return status


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(settings, host=args.host, port=args.port, socket_mode=args.socket_mode,
                     scheduler_enabled=not args.no_scheduler)
    if args.command == "playground":
        from bot.playground.server import run_playground

        return run_playground(settings, port=args.port, open_browser=not args.no_browser)
    if args.command == "worker":
        if settings.celery_broker_url is None:
            raise ConfigError("jobgate worker needs JOBGATE_CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0 or "
                              "amqp://guest:guest@127.0.0.1:5672//), the same broker as jobgate serve's")
        # SIGTERM starts Celery's cold shutdown, whose soft phase lets running jobs finish for JOBGATE_SHUTDOWN_GRACE
        # (a warm shutdown would wait for them forever). Read by billiard when it is first imported, just below.
        os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
        from bot.executor.celery_worker import run_worker

        return run_worker(settings, concurrency=args.concurrency or settings.workers)
    if args.command == "db":
        db = Database.from_url(settings.database_url)
        pending = pending_migrations(db.engine)
        upgrade(db.engine)
        if pending:
            print(f"Applied {len(pending)} migration{'s' if len(pending) > 1 else ''}: {', '.join(pending)}.")
        print("Database is up to date.")
        return 0
    if args.command == "jobs":
        return _jobs(args, settings)
    if args.command == "token":
        return _token(args, settings)
    if args.command == "schedules":
        return _schedules(args, settings)
    raise CommandError(f"unknown command {args.command!r}")  # pragma: no cover - argparse refuses it first


def _token(args: argparse.Namespace, settings: Settings) -> int:
    user = getattr(args, "user", None)
    if user is not None and not USER_ID_PATTERN.fullmatch(user):
        raise FieldErrors({"user": [f"{user!r} is not a Slack user ID; expected e.g. U0123ABCD"]},
                          message=f"--user: {user!r} is not a Slack user ID; expected e.g. U0123ABCD")
    tokens = build_core(settings).services.tokens
    if args.token_command == "create":
        print(tokens.create_api_token(user_id=args.user, description=args.description, expires_days=args.expires))
        return 0
    if args.token_command == "revoke":
        try:
            token = tokens.revoke_token(args.prefix)
        except NotFoundError as exc:
            return _fail(exc.message, EXIT_USAGE)
        print(f"Revoked {token.prefix} ({token.user_id}{': ' + token.description if token.description else ''}).")
        return 0
    now = utcnow()
    listed = tokens.list_tokens(user_id=user)
    if not listed:
        print(f"No tokens{' of ' + user if user else ''}. 'jobgate token create --user ID' makes one.")
        return 0
    rows = [("PREFIX", "USER", "CREATED", "EXPIRES", "LAST USED", "STATE", "DESCRIPTION")]
    for token in listed:
        state = "revoked" if token.revoked_at is not None else (
            "expired" if token.expires_at is not None and token.expires_at <= now else "active")
        rows.append((token.prefix, token.user_id, _when(token.created_at), _when(token.expires_at, "never"),
                     _when(token.last_used_at, "never"), state, token.description))
    _print_table(rows)
    return 0


def _schedules(args: argparse.Namespace, settings: Settings) -> int:
    if args.as_user is None:  # an operator at the shell holds every permission: the policy's admins plus them
        loaded = load_policy(settings)
        services = build_core(settings, policy=Policy(admins=loaded.admins | {OPERATOR_ID},
                                                      entries=loaded.entries)).services
        actor = Actor(user_id=OPERATOR_ID)
    else:
        if not USER_ID_PATTERN.fullmatch(args.as_user):
            raise FieldErrors({"as": [f"{args.as_user!r} is not a Slack user ID; expected e.g. U0123ABCD"]},
                              message=f"--as: {args.as_user!r} is not a Slack user ID; expected e.g. U0123ABCD")
        services = build_core(settings).services
        actor = Actor(user_id=args.as_user)
    if args.schedules_command == "list":
        page = services.listings.list_scheduled_jobs(actor, job=args.job, limit=MAX_LISTED)
        if not page.items:
            whose = "" if args.as_user is None else f" that {actor.user_id} may see"
            print(f"No pending or active scheduled jobs{whose}.")
            return 0
        rows = [("ID", "NAME", "JOB", "TYPE", "NEXT RUN (UTC)", "REQUESTER", "STATE")]
        for record in page.items:
            state = record.approval_state.value + (", paused" if record.paused else "")
            rows.append((short(record.id), record.name, record.job.slug if record.job else "(removed)",
                         record.interval.value, _when(record.next_run_at, "-"), record.user_id or "-", state))
        _print_table(rows)
        if page.count > len(page.items):
            print(f"… and {page.count - len(page.items)} more.")
        return 0
    action = {"cancel": services.management.cancel_scheduled_job, "pause": services.management.pause_scheduled_job,
              "resume": services.management.resume_scheduled_job}[args.schedules_command]
    try:
        parse_id_ref(args.id, where="`jobgate schedules list` and `/jobs scheduled`")
        target = services.listings.resolve_scheduled_job_id(actor, args.id)
        record = action(actor=actor, scheduled_job_id=target)
    except (AmbiguousIdError, InvalidIdError) as exc:
        return _fail(exc.message.replace("`", "'"), EXIT_USAGE)
    except NotFoundError:
        return _fail(f"No scheduled job has an ID starting with {args.id!r}.", EXIT_USAGE)
    done = {"cancel": "Cancelled", "pause": "Paused", "resume": "Resumed"}[args.schedules_command]
    if record.approval_state is ApprovalState.DENIED and record.user_id != actor.user_id and done == "Cancelled":
        done = "Denied"  # ending someone else's pending request denies it
    print(f"{done} {short(record.id)} ({record.name}).")
    return 0


def _when(moment: datetime | None, missing: str = "") -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment is not None else missing


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print(("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
              .rstrip())


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    services = build_core(settings).services
    outcome = services.management.sync_jobs()
    for error in outcome.errors:
        print(f"jobgate: cannot load {error.module}: {error.error}", file=sys.stderr)
    if args.jobs_command in ("enable", "disable"):
        try:
            job = services.management.set_job_enabled(args.job, args.jobs_command == "enable")
        except NotFoundError:
            raise CommandError(f"job {args.job!r} not found; 'jobgate jobs list' shows the jobs") from None
        print(f"{'Enabled' if job.enabled else 'Disabled'} {job.slug} ({job.name}).")
        reason = services.management.not_runnable_reason(job) if job.enabled else None
        if reason:
            print(f"jobgate: warning: {job.slug} cannot run yet: {reason}", file=sys.stderr)
        return 0
    jobs = services.listings.list_jobs()
    if not jobs:
        where = ", ".join(str(p) for p in settings.jobs_paths) or "no JOBGATE_JOBS_PATH (and no ./jobs folder)"
        print(f"No jobs found ({where}).")
        return EXIT_FAILURE if outcome.errors else 0
    rows = [("SLUG", "NAME", "ENABLED", "APPROVAL", "SENSITIVE", "STATUS")]
    for job in jobs:
        # The listing shows ENABLED in its own column; STATUS says what else stops the job.
        status = "not installed" if not job.installed else (
            services.management.not_runnable_reason(replace(job, enabled=True)) or "ok")
        rows.append((job.slug, job.name, _yes(job.enabled), _yes(job.approval_required),
                     _yes(job.has_sensitive_variables), status))
    _print_table(rows)
    return EXIT_FAILURE if outcome.errors else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
