"""Testing jobs: ``run_job_for_testing`` runs a job class in the test's own process, with its data checked and
converted exactly as jobgate does before a real run, so a job author's test (pytest, with ``responses`` stubbing
the HTTP calls the job makes) sees what a run would do.

Like Nautobot's ``run_job_for_testing``, but without a database or a worker: an exception the job raises reaches the
test as it is (a real run would record it as ``failed``). Must not import Slack, SQLAlchemy, ``storage`` or
``handlers``: job authors' tests import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.variables import prepare_run_data, validate_data
from bot.jobs import Job, LogEntry, LogLevel, job_info

__all__ = ["JobRun", "run_job_for_testing"]


@dataclass(frozen=True)
class JobRun:
    """How a job ran in a test.

    Attributes:
        job: the job instance, after ``run()``.
        returned: what ``run()`` returned (a real run keeps it, as text, as the job result's ``output``).
    """

    job: Job
    returned: object

    @property
    def log(self) -> list[LogEntry]:
        """The entries the job logged, in order."""
        return list(self.job.log_entries)

    @property
    def messages(self) -> list[str]:
        """The messages the job logged, in order."""
        return [entry.message for entry in self.job.log_entries]

    @property
    def failed(self) -> bool:
        """Whether the run would end ``failed`` (the job logged a failure)."""
        return self.job.failed

    def at_level(self, level: LogLevel | str) -> list[str]:
        """The messages logged at ``level`` (``"failure"``, ``LogLevel.WARNING``...)."""
        return [entry.message for entry in self.job.log_entries if entry.level == LogLevel(level)]


def run_job_for_testing(
    job_class: type[Job], data: Mapping[str, object] | None = None, *, commit: bool = True, user_id: str | None = None
) -> JobRun:
    """Run a job as jobgate would, in this process.

    ``data`` is what a requester would submit (JSON-like values, as in the REST API: ``"10.0.0.1"``, base64 for a
    file); it is validated against the job's variables and converted (an ``IPAddressVar`` becomes an
    ``ipaddress`` object, a ``FileVar`` an ``UploadedFile``) before ``run()``.

    Args:
        job_class: the job's class.
        data: the variable values, by name.
        commit: False for a dry run.
        user_id: the Slack user ID the job runs as.

    Returns:
        The job and what it returned.

    Raises:
        InvalidDataError: the data would be refused (``.errors`` maps each variable to its messages).
        Exception: whatever the job raised.
    """
    variables = job_info(job_class).variables
    cleaned = validate_data(variables, dict(data or {}))
    job = job_class()
    job.user_id = user_id
    returned = job.run(prepare_run_data(variables, cleaned), commit)
    return JobRun(job=job, returned=returned)
