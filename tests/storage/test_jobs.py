"""JobRepository on real databases: sync, look-ups by UUID, slug or name, listing, the enabled switch."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database
from tests.storage.conftest import NOW, add_job, definition, read, write


def test_sync_adds_new_jobs_disabled_and_reports_what_changed(database: Database) -> None:
    with write(database) as repos:
        first = repos.jobs.sync([definition("jobs.Backup"), definition("jobs.Restore")], now=NOW)
    assert first.added == ("jobs.Backup", "jobs.Restore") and first.updated == first.uninstalled == ()
    with read(database) as repos:
        assert [(j.slug, j.enabled, j.installed) for j in repos.jobs.list_all()] == [
            ("jobs.Backup", False, True), ("jobs.Restore", False, True)]

    later = NOW + timedelta(hours=1)
    with write(database) as repos:
        repos.jobs.set_enabled("jobs.Backup", True, now=NOW)
        second = repos.jobs.sync([definition("jobs.Backup", description="Backs up", time_limit=60.0)], now=later)
    assert (second.added, second.updated, second.uninstalled, second.reinstalled) == (
        (), ("jobs.Backup",), ("jobs.Restore",), ())
    with read(database) as repos:
        backup, restore = repos.jobs.list_all()
    assert backup.enabled and backup.description == "Backs up" and backup.time_limit == 60.0  # switch kept
    assert not restore.installed  # kept, never deleted

    with write(database) as repos:
        third = repos.jobs.sync([definition("jobs.Backup", description="Backs up", time_limit=60.0),
                                 definition("jobs.Restore")], now=later)
    assert third.reinstalled == ("jobs.Restore",) and third.updated == () and third.added == ()


def test_a_job_is_found_by_uuid_slug_or_name(database: Database) -> None:
    job = add_job(database, "jobs.Backup", name="Nightly backup")
    add_job(database, "other.Backup", name="Nightly backup")
    with read(database) as repos:
        assert repos.jobs.get(job.id) == job
        assert repos.jobs.get("jobs.Backup") == job
        found = repos.jobs.get("Nightly backup")  # a shared name: the first slug wins
        assert found is not None and found.slug == "jobs.Backup"
        assert repos.jobs.get("nope.Nope") is None
        assert repos.jobs.get("00000000-0000-4000-8000-000000000000") is None


def test_the_listing_is_by_slug_and_may_leave_out_uninstalled_jobs(database: Database) -> None:
    with write(database) as repos:
        repos.jobs.sync([definition("b.Two"), definition("a.One")], now=NOW)
        repos.jobs.sync([definition("b.Two")], now=NOW)
    with read(database) as repos:
        assert [j.slug for j in repos.jobs.list_all()] == ["a.One", "b.Two"]
        assert [j.slug for j in repos.jobs.list_all(include_uninstalled=False)] == ["b.Two"]


def test_the_enabled_switch_is_stored_and_returned(database: Database) -> None:
    job = add_job(database, "jobs.Backup", enabled=False, variables={"device": {"type": "StringVar"}})
    with write(database) as repos:
        enabled = repos.jobs.set_enabled(job.id, True, now=NOW)
        assert repos.jobs.set_enabled("nope.Nope", True, now=NOW) is None
    assert enabled is not None and enabled.enabled
    assert enabled.variables == {"device": {"type": "StringVar"}}
    with read(database) as repos:
        assert repos.jobs.get(job.id) == enabled
