"""``jobgate schedules``: operators end, stop and restart scheduled jobs without Slack, with every permission or as a
Slack user (``--as``), named by a unique prefix of their ID, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import build_core
from bot.config import Settings
from bot.domain.policy_file import parse_policy
from bot.services import ScheduleInput, Services
from storage.db import Database
from tests.conftest import ADMIN, ALICE, BOB, FIXTURE_JOBS, NOW, POLICY_YAML
from tests.test_cli import jobgate

FIRST = "abcdef01-1111-4111-8111-111111111111"
SECOND = "abcdef02-2222-4222-8222-222222222222"


@pytest.fixture
def operator(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, dict[str, str], Services]]:
    """A working folder with jobs and a permissions file, and two daily schedules of ALICE's whose IDs share 6
    characters."""
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    db = Database.from_url(database_url)
    core = build_core(Settings(database_url=database_url, jobs_paths=(tmp_path / "jobs",)), db=db,
                      policy=parse_policy(POLICY_YAML))
    services = core.services
    services.management.sync_jobs()
    services.management.set_job_enabled("testjobs.TestPass", True)
    for name, new_id in (("Nightly", FIRST), ("Morning", SECOND)):
        outcome = services.requests.request_job(
            actor=ALICE, job="testjobs.TestPass", data={}, now=NOW,
            schedule=ScheduleInput(interval="daily", name=name, start_time=NOW + timedelta(hours=1)))
        assert outcome.scheduled_job is not None
        with db.write() as session:  # test data: IDs chosen to share a prefix (random ones never do)
            session.execute(text("UPDATE scheduled_jobs SET id = :new WHERE id = :old"),
                            {"new": new_id, "old": outcome.scheduled_job.id})
    try:
        yield tmp_path, {"JOBGATE_DATABASE_URL": database_url}, services
    finally:
        db.dispose()


def test_schedules_list_shows_short_ids_and_a_prefix_names_one(
        operator: tuple[Path, dict[str, str], Services]) -> None:
    cwd, env, services = operator
    listed = jobgate(cwd, "schedules", "list", "--as", "UALICE", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(rows) == {"abcdef01", "abcdef02"}
    assert "Nightly" in rows["abcdef01"] and "testjobs.TestPass" in rows["abcdef01"] and "UALICE" in rows["abcdef01"]

    paused = jobgate(cwd, "schedules", "pause", "abcdef01", "--as", "UALICE", env=env)
    assert (paused.returncode, paused.stdout, paused.stderr) == (0, "Paused abcdef01 (Nightly).\n", "")
    assert services.listings.get_scheduled_job(ADMIN, FIRST).paused
    resumed = jobgate(cwd, "schedules", "resume", "ABCDEF01-1111", "--as", "UALICE", env=env)
    assert resumed.stdout == "Resumed abcdef01 (Nightly).\n"
    cancelled = jobgate(cwd, "schedules", "cancel", SECOND, "--as", "UALICE", env=env)
    assert cancelled.stdout == "Cancelled abcdef02 (Morning).\n"
    assert not services.listings.get_scheduled_job(ADMIN, SECOND).enabled


@pytest.mark.parametrize(("args", "expected"), [
    (("pause", "abcdef", "--as", "UALICE"),
     "jobgate: error: 'abcdef' starts the IDs of 2 scheduled jobs: 'abcdef01' (Nightly), 'abcdef02' (Morning). "
     "Type more characters of the one you mean."),
    (("cancel", "abc12", "--as", "UALICE"),
     "jobgate: error: 'abc12' is too short to name a scheduled job: type at least 6 characters of its ID "
     "(e.g. '3f2c5a'); 'jobgate schedules list' and '/jobs scheduled' show them."),
    (("cancel", "abcdef01", "--as", "UNOBODY"),
     "jobgate: error: No scheduled job has an ID starting with 'abcdef01'."),
    (("cancel", "abcdef01", "--as", "alice"),
     "jobgate: error: --as: 'alice' is not a Slack user ID; expected e.g. U0123ABCD"),
])
def test_an_ambiguous_short_or_unknown_id_is_refused_in_one_line(operator: tuple[Path, dict[str, str], Services],
                                                                args: tuple[str, ...], expected: str) -> None:
    cwd, env, services = operator
    out = jobgate(cwd, "schedules", *args, env=env)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", expected + "\n")
    assert services.listings.get_scheduled_job(ADMIN, FIRST).enabled
    assert not services.listings.get_scheduled_job(ADMIN, FIRST).paused


def test_an_operator_lists_pauses_resumes_and_cancels_a_schedule(
        tmp_path: Path, database_url: str, services: Services) -> None:
    outcome = services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass", data={},
        schedule=ScheduleInput(interval="hourly", name="nightly backup", start_time=NOW + timedelta(minutes=5)),
    )
    assert outcome.scheduled_job is not None
    scheduled = outcome.scheduled_job.id
    shown = scheduled[:8]
    env = {"JOBGATE_DATABASE_URL": database_url}

    listed = jobgate(tmp_path, "schedules", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(shown))
    assert "testjobs.TestPass" in row and "nightly backup" in row and "hourly" in row and "UALICE" in row
    assert jobgate(tmp_path, "schedules", "list", "--job", "testjobs.TestFail", env=env).stdout.strip() == \
        "No pending or active scheduled jobs."

    paused = jobgate(tmp_path, "schedules", "pause", scheduled, env=env)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == f"Paused {shown} (nightly backup)."
    assert services.listings.get_scheduled_job(ALICE, scheduled).paused
    again = jobgate(tmp_path, "schedules", "pause", shown, env=env)
    assert again.returncode == 1 and again.stderr.strip() == "jobgate: error: This scheduled job is already paused."

    assert jobgate(tmp_path, "schedules", "resume", scheduled[:6], env=env).returncode == 0
    assert not services.listings.get_scheduled_job(ALICE, scheduled).paused

    refused = jobgate(tmp_path, "schedules", "cancel", shown, "--as", BOB.user_id, env=env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert services.listings.get_scheduled_job(ALICE, scheduled).enabled

    cancelled = jobgate(tmp_path, "schedules", "cancel", scheduled, env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert not services.listings.get_scheduled_job(ALICE, scheduled).enabled
    assert jobgate(tmp_path, "schedules", "list", env=env).stdout.strip() == "No pending or active scheduled jobs."

    unknown = jobgate(tmp_path, "schedules", "cancel", "no-such-id", env=env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.startswith("jobgate: error: 'no-such-id' is not a scheduled job ID.")
