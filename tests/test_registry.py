"""Job discovery with real files: job directories written into ``tmp_path``, and a real installed distribution."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.registry import Discovery, LoadError, discover

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "jobs"

REBOOT = """
from bot.jobs import Job, StringVar, IntegerVar

class RebootDevice(Job):
    class Meta:
        name = "Reboot device"
        approval_required = True
        has_sensitive_variables = False

    device = StringVar()
    delay = IntegerVar(default=0, min_value=0, max_value=600)

    def run(self, data, commit):
        self.log_info(message=f"Rebooting {data['device']}")
"""


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def job_source(class_name: str, name: str | None = None, extra_meta: str = "") -> str:
    meta = f"name = {name!r}" if name else "pass"
    return (
        "from bot.jobs import Job\n\n"
        f"class {class_name}(Job):\n"
        "    class Meta:\n"
        f"        {meta}\n"
        f"        {extra_meta}\n\n"
        "    def run(self, data, commit):\n"
        "        self.log_success(message='ok')\n"
    )


def errors_by_module(discovery: Discovery) -> dict[str, str]:
    return {error.module: error.error for error in discovery.errors}


@pytest.fixture
def forget_modules() -> Iterator[list[str]]:
    """Names of real (non-private) modules a test imports; removed from sys.modules afterwards."""
    names: list[str] = []
    yield names
    for loaded in [m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names)]:
        del sys.modules[loaded]


def test_slugs_sources_and_info(tmp_path: Path) -> None:
    write(tmp_path / "maintenance.py", REBOOT)
    write(tmp_path / "backups.py", job_source("BackupConfigs", "Back up configs", "has_sensitive_variables = False"))

    discovery = discover([tmp_path], entry_points=False)

    assert discovery.errors == []
    assert list(discovery.jobs) == ["backups.BackupConfigs", "maintenance.RebootDevice"]
    reboot = discovery.jobs["maintenance.RebootDevice"]
    assert (reboot.module_name, reboot.class_name, reboot.source) == (
        "maintenance",
        "RebootDevice",
        str(tmp_path / "maintenance.py"),
    )
    assert reboot.info.name == "Reboot device"
    assert reboot.info.approval_required is True
    assert list(reboot.info.variables) == ["device", "delay"]
    job = reboot.job_class()
    job.run({"device": "sw1", "delay": 0}, True)
    assert job.log_entries[0].message == "Rebooting sw1"


def test_get_by_slug_then_exact_name(tmp_path: Path) -> None:
    write(tmp_path / "maintenance.py", REBOOT)
    write(tmp_path / "a.py", job_source("Same", "Shared name"))
    write(tmp_path / "b.py", job_source("Same", "Shared name"))
    discovery = discover([tmp_path], entry_points=False)

    assert discovery.get("maintenance.RebootDevice") is discovery.jobs["maintenance.RebootDevice"]
    assert discovery.get("Reboot device") is discovery.jobs["maintenance.RebootDevice"]
    assert discovery.get("reboot device") is None
    assert discovery.get("nothing") is None
    assert discovery.get("Shared name") is None  # ambiguous: the slug is needed
    assert discovery.get("a.Same") is not None


def test_broken_modules_are_reported_and_the_others_load(tmp_path: Path) -> None:
    write(tmp_path / "maintenance.py", REBOOT)
    write(tmp_path / "broken.py", "from bot.jobs import Job\n\nclass Broken(Job)\n    pass\n")
    write(tmp_path / "needs_netmiko.py", "import netmiko_is_not_installed\nfrom bot.jobs import Job\n")
    write(tmp_path / "raises.py", "raise RuntimeError('cannot reach\\nthe inventory')\n")
    write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n")
    write(
        tmp_path / "bad_bounds.py",
        "from bot.jobs import Job, IntegerVar\n\nclass J(Job):\n    n = IntegerVar(min_value=5, max_value=1)\n",
    )

    discovery = discover([tmp_path], entry_points=False)

    assert list(discovery.jobs) == ["maintenance.RebootDevice"]
    errors = errors_by_module(discovery)
    assert errors["broken"] == "SyntaxError: expected ':' (broken.py, line 3)"
    assert errors["needs_netmiko"] == "ModuleNotFoundError: No module named 'netmiko_is_not_installed'"
    assert errors["raises"] == "RuntimeError: cannot reach the inventory"
    assert errors["exits"] == "SystemExit: 3"
    assert errors["bad_bounds"] == "ValueError: IntegerVar min_value (5) is greater than max_value (1)"
    for error in discovery.errors:
        assert "\n" not in error.error
        assert "Traceback" not in error.error
        assert "_jobgate" not in error.error


def test_bad_meta_fails_the_module(tmp_path: Path) -> None:
    write(tmp_path / "limits.py", job_source("Slow", extra_meta="soft_time_limit = 600; time_limit = 60"))
    discovery = discover([tmp_path], entry_points=False)
    assert discovery.jobs == {}
    assert errors_by_module(discovery) == {
        "limits": "ValueError: Slow.Meta.soft_time_limit (600) is greater than time_limit (60)"
    }


def test_job_without_run_is_reported_under_its_slug(tmp_path: Path) -> None:
    write(
        tmp_path / "mixed.py",
        """
        from bot.jobs import Job

        class Forgotten(Job):
            class Meta:
                has_sensitive_variables = False

        class Fine(Job):
            def run(self, data, commit):
                pass
        """,
    )
    discovery = discover([tmp_path], entry_points=False)
    assert list(discovery.jobs) == ["mixed.Fine"]
    assert discovery.errors == [LoadError(module="mixed.Forgotten", error="defines no run() method")]


def test_only_classes_defined_in_the_module_are_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    site = tmp_path / "site"
    write(site / "shared_jobs_lib.py", job_source("SharedJob"))
    monkeypatch.syspath_prepend(str(site))
    forget_modules.append("shared_jobs_lib")
    jobs_dir = tmp_path / "jobs"
    write(
        jobs_dir / "local.py",
        """
        from bot.jobs import Job
        from shared_jobs_lib import SharedJob

        class _Helper(Job):
            def run(self, data, commit):
                pass

        class DeviceJob(Job):
            class Meta:
                abstract = True
                has_sensitive_variables = False

            def connect(self):
                return "connected"

        class Local(DeviceJob):
            def run(self, data, commit):
                self.log_info(self.connect())

        Alias = Local
        """,
    )
    discovery = discover([jobs_dir], entry_points=False)
    assert list(discovery.jobs) == ["local.Local"]
    assert discovery.errors == []
    assert discovery.jobs["local.Local"].info.has_sensitive_variables is False


def test_package_directory_with_relative_imports(tmp_path: Path) -> None:
    write(
        tmp_path / "netjobs" / "__init__.py",
        """
        from bot.jobs import Job
        from .backup import Backup
        from .common import device_names

        class Audit(Job):
            def run(self, data, commit):
                for name in device_names():
                    self.log_info(name)
        """,
    )
    write(tmp_path / "netjobs" / "common.py", "def device_names():\n    return ['sw1', 'sw2']\n")
    write(
        tmp_path / "netjobs" / "backup.py",
        """
        from bot.jobs import Job
        from . import common

        class Backup(Job):
            def run(self, data, commit):
                self.log_info(f"{len(common.device_names())} devices")
        """,
    )
    write(tmp_path / "netjobs" / "broken_part.py", "from .missing import nothing\n")
    write(tmp_path / "notapackage" / "jobs.py", job_source("Ignored"))
    write(tmp_path / "_private.py", job_source("Private"))
    write(tmp_path / ".hidden.py", job_source("Hidden"))
    write(tmp_path / "README.txt", "not python")

    discovery = discover([tmp_path], entry_points=False)

    assert discovery.errors == []
    assert list(discovery.jobs) == ["netjobs.Audit", "netjobs.Backup"]
    assert discovery.jobs["netjobs.Backup"].module_name == "netjobs"
    assert discovery.jobs["netjobs.Backup"].source == str(tmp_path / "netjobs")
    job = discovery.jobs["netjobs.Audit"].job_class()
    job.run({}, True)
    assert [entry.message for entry in job.log_entries] == ["sw1", "sw2"]


def test_package_import_error_names_the_public_module(tmp_path: Path) -> None:
    write(tmp_path / "netjobs" / "__init__.py", "from .missing import nothing\n")
    discovery = discover([tmp_path], entry_points=False)
    assert errors_by_module(discovery) == {"netjobs": "ModuleNotFoundError: No module named 'netjobs.missing'"}


def test_a_job_module_never_shadows_a_real_module(tmp_path: Path) -> None:
    write(tmp_path / "json.py", job_source("JsonJob"))
    discovery = discover([tmp_path], entry_points=False)
    assert list(discovery.jobs) == ["json.JsonJob"]
    assert sys.modules["json"] is json
    assert json.dumps([1]) == "[1]"
    assert str(tmp_path) not in sys.path


def test_two_directories_and_duplicate_module_names(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "maintenance.py", job_source("RebootDevice", "Reboot (first)"))
    write(second / "maintenance.py", job_source("RebootDevice", "Reboot (second)"))
    write(second / "other.py", job_source("Other"))

    discovery = discover([first, second], entry_points=False)

    assert list(discovery.jobs) == ["maintenance.RebootDevice", "other.Other"]
    assert discovery.jobs["maintenance.RebootDevice"].info.name == "Reboot (first)"
    assert discovery.jobs["maintenance.RebootDevice"].source == str(first / "maintenance.py")
    (error,) = discovery.errors
    assert error.module == "maintenance.RebootDevice"
    assert str(first / "maintenance.py") in error.error
    assert str(second / "maintenance.py") in error.error
    assert "duplicate" in error.error


def test_the_same_directory_twice_is_read_once(tmp_path: Path) -> None:
    write(tmp_path / "maintenance.py", REBOOT)
    discovery = discover([tmp_path, tmp_path / ".." / tmp_path.name], entry_points=False)
    assert list(discovery.jobs) == ["maintenance.RebootDevice"]
    assert discovery.errors == []


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "maintenance.py", REBOOT)
    discovery = discover([tmp_path / "nope", tmp_path], entry_points=False)
    assert list(discovery.jobs) == ["maintenance.RebootDevice"]
    assert [error.module for error in discovery.errors] == [str(tmp_path / "nope")]


def test_invalid_module_name_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "my-jobs.py", job_source("Dashed"))
    discovery = discover([tmp_path], entry_points=False)
    assert discovery.jobs == {}
    assert errors_by_module(discovery) == {"my-jobs": "'my-jobs' is not a valid Python module name; rename it"}


def test_rediscovery_reads_edited_files(tmp_path: Path) -> None:
    module = write(tmp_path / "edited.py", job_source("Job1", "Name A"))
    write(tmp_path / "pkg" / "__init__.py", "from .impl import Impl\n")
    impl = write(tmp_path / "pkg" / "impl.py", job_source("Impl", "Impl A"))
    first = discover([tmp_path], entry_points=False)
    assert first.jobs["edited.Job1"].info.name == "Name A"
    assert first.jobs["pkg.Impl"].info.name == "Impl A"

    # Same size and (likely) the same mtime second: no cache may hide the change.
    write(module, job_source("Job1", "Name B"))
    write(impl, job_source("Impl", "Impl B"))
    second = discover([tmp_path], entry_points=False)
    assert second.jobs["edited.Job1"].info.name == "Name B"
    assert second.jobs["pkg.Impl"].info.name == "Impl B"
    assert second.jobs["edited.Job1"].job_class is not first.jobs["edited.Job1"].job_class

    write(module, job_source("Job2"))
    write(tmp_path / "added.py", job_source("Added"))
    third = discover([tmp_path], entry_points=False)
    assert list(third.jobs) == ["added.Added", "edited.Job2", "pkg.Impl"]

    write(module, "def broken(:\n")
    fourth = discover([tmp_path], entry_points=False)
    assert list(fourth.jobs) == ["added.Added", "pkg.Impl"]
    assert errors_by_module(fourth)["edited"].startswith("SyntaxError:")

    loaded = [name for name in sys.modules if name.startswith("_jobgate_jobs_") and name.endswith("_edited")]
    assert loaded == []  # the failed load left nothing behind, the previous load was replaced
    assert not (tmp_path / "__pycache__").exists()
    assert not (tmp_path / "pkg" / "__pycache__").exists()


def test_hidden_and_unrunnable_jobs_are_still_discovered(tmp_path: Path) -> None:
    write(
        tmp_path / "flags.py",
        """
        from bot.jobs import Job

        class Hidden(Job):
            class Meta:
                hidden = True

            def run(self, data, commit):
                pass

        class SensitiveWithApproval(Job):
            class Meta:
                approval_required = True

            def run(self, data, commit):
                pass
        """,
    )
    discovery = discover([tmp_path], entry_points=False)
    assert discovery.errors == []
    assert discovery.jobs["flags.Hidden"].info.hidden is True
    assert discovery.jobs["flags.SensitiveWithApproval"].info.is_runnable_definition is False


def test_example_jobs(tmp_path: Path) -> None:
    discovery = discover([EXAMPLES], entry_points=False)
    assert discovery.errors == []
    assert list(discovery.jobs) == [
        "ipam.PostWebhook",
        "ipam.ReserveAddresses",
        "maintenance.BackupConfigs",
        "maintenance.DrainInterfaces",
        "maintenance.RebootDevice",
        "maintenance.RotateCredentials",
    ]
    flags = {
        slug: (job.info.approval_required, job.info.has_sensitive_variables) for slug, job in discovery.jobs.items()
    }
    assert flags == {
        "ipam.PostWebhook": (False, False),
        "ipam.ReserveAddresses": (True, False),
        "maintenance.BackupConfigs": (False, False),
        "maintenance.DrainInterfaces": (True, False),
        "maintenance.RebootDevice": (True, False),
        "maintenance.RotateCredentials": (False, True),
    }
    backup = discovery.jobs["maintenance.BackupConfigs"].job_class()
    backup.run({"site": "ams1", "device_count": 2, "include_startup": False}, False)
    assert [entry.message for entry in backup.log_entries] == [
        "Dry run: would save running configuration",
        "Dry run: would save running configuration",
        "Would back up 2 devices of ams1",
    ]
    assert not backup.failed
    assert discovery.jobs["ipam.ReserveAddresses"].grouping == "IPAM"
    assert discovery.jobs["maintenance.RebootDevice"].grouping == ""


# --- entry points: a real distribution on sys.path -------------------------------------------------------------------


def install_distribution(site: Path, entry_points: str) -> None:
    dist_info = site / "acme_jobs-1.0.dist-info"
    write(dist_info / "METADATA", "Metadata-Version: 2.1\nName: acme-jobs\nVersion: 1.0\n")
    write(dist_info / "entry_points.txt", entry_points)


def test_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]) -> None:
    site = tmp_path / "site"
    forget_modules.append("acme_jobs")
    write(site / "acme_jobs" / "__init__.py", "")
    write(
        site / "acme_jobs" / "backup.py",
        """
        from bot.jobs import Job

        class Backup(Job):
            class Meta:
                name = "ACME backup"
                has_sensitive_variables = False

            def run(self, data, commit):
                pass
        """,
    )
    write(
        site / "acme_jobs" / "bundle.py",
        """
        from bot.jobs import Job
        from acme_jobs.backup import Backup

        class Audit(Job):
            def run(self, data, commit):
                pass

        class NoRun(Job):
            pass
        """,
    )
    write(site / "acme_jobs" / "needs_lib.py", "import acme_missing_library\n")
    write(site / "acme_jobs" / "constants.py", "TIMEOUT = 5\n")
    install_distribution(
        site,
        """
        [jobgate.jobs]
        backup = acme_jobs.backup:Backup
        bundle = acme_jobs.bundle
        broken = acme_jobs.needs_lib
        gone = acme_jobs.nowhere:Thing
        wrong = acme_jobs.constants:TIMEOUT

        [console_scripts]
        unrelated = acme_jobs.backup:main
        """,
    )
    jobs_dir = write(tmp_path / "jobs" / "maintenance.py", REBOOT).parent
    monkeypatch.syspath_prepend(str(site))

    discovery = discover([jobs_dir])

    assert list(discovery.jobs) == ["acme_jobs.backup.Backup", "acme_jobs.bundle.Audit", "maintenance.RebootDevice"]
    backup = discovery.jobs["acme_jobs.backup.Backup"]
    assert (backup.module_name, backup.class_name, backup.source) == (
        "acme_jobs.backup",
        "Backup",
        "entry point backup",
    )
    assert backup.info.name == "ACME backup"
    assert discovery.jobs["acme_jobs.bundle.Audit"].source == "entry point bundle"
    assert discovery.get("ACME backup") is backup
    assert errors_by_module(discovery) == {
        "acme_jobs.bundle.NoRun": "defines no run() method",
        "entry point broken": "ModuleNotFoundError: No module named 'acme_missing_library'",
        "entry point gone": "ModuleNotFoundError: No module named 'acme_jobs.nowhere'",
        "entry point wrong": "acme_jobs.constants:TIMEOUT is neither a Job subclass nor a module",
    }

    without = discover([jobs_dir], entry_points=False)
    assert list(without.jobs) == ["maintenance.RebootDevice"]


def test_entry_point_slug_clashing_with_a_path_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    site = tmp_path / "site"
    forget_modules.append("acme_clash")
    write(site / "acme_clash.py", job_source("Clash", "From the entry point"))
    install_distribution(site, "[jobgate.jobs]\nclash = acme_clash:Clash\n")
    jobs_dir = write(tmp_path / "jobs" / "acme_clash.py", job_source("Clash", "From the path")).parent
    monkeypatch.syspath_prepend(str(site))

    discovery = discover([jobs_dir])

    assert discovery.jobs["acme_clash.Clash"].info.name == "From the path"
    (error,) = discovery.errors
    assert error.module == "acme_clash.Clash"
    assert "entry point clash" in error.error
    assert str(jobs_dir / "acme_clash.py") in error.error


def test_a_jobs_code_version_is_the_sha256_of_its_modules_source_and_follows_every_edit(tmp_path: Path) -> None:
    single = write(tmp_path / "single.py", job_source("One"))
    write(tmp_path / "pkg" / "__init__.py", "from .jobs import Two\n")
    helper = write(tmp_path / "pkg" / "jobs.py", job_source("Two"))
    first = discover([tmp_path], entry_points=False)
    assert first.jobs["single.One"].version == hashlib.sha256(single.read_bytes()).hexdigest()
    package_version = first.jobs["pkg.Two"].version
    assert len(package_version) == 64 and package_version != first.jobs["single.One"].version

    helper.write_text(helper.read_text() + "\n# a comment is a change too\n")
    second = discover([tmp_path], entry_points=False)
    assert second.jobs["single.One"].version == first.jobs["single.One"].version  # unchanged: the same version
    assert second.jobs["pkg.Two"].version != package_version  # a module inside the package changed
