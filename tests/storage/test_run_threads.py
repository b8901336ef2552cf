"""RunThreadRepository on real databases: one thread per scheduled job and recipient; the first one recorded is
kept, a replaced one is forgotten."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database
from tests.storage.conftest import NOW, add_job, new_scheduled_job, read, write


def test_the_first_thread_recorded_is_kept_per_scheduled_job_and_recipient(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        first = repos.scheduled_jobs.add(new_scheduled_job(job)).id
        second = repos.scheduled_jobs.add(new_scheduled_job(job)).id
        repos.run_threads.add(first, "UALICE", message_channel="D1", message_ts="1.1", now=NOW)
        repos.run_threads.add(first, "UALICE", message_channel="D1", message_ts="2.2", now=NOW)  # a second: ignored
        repos.run_threads.add(first, "UBOB", message_channel="D2", message_ts="3.3", now=NOW)
    with read(database) as repos:
        assert repos.run_threads.get(first, "UALICE") == ("D1", "1.1")
        assert repos.run_threads.get(first, "UBOB") == ("D2", "3.3")
        assert repos.run_threads.get(second, "UALICE") is None
    with write(database) as repos:
        repos.run_threads.replace(first, "UALICE", message_channel="D1", message_ts="4.4",
                                  now=NOW + timedelta(hours=1))
    with read(database) as repos:
        assert repos.run_threads.get(first, "UALICE") == ("D1", "4.4")
        assert repos.run_threads.get(first, "UBOB") == ("D2", "3.3")
