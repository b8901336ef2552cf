"""The jobgate command, run as a subprocess in a temporary folder, as an operator would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import Database, read_tables
from storage.repositories import Repositories
from tests.conftest import FIXTURE_JOBS, NOW

EXAMPLES = Path(__file__).parent.parent / "examples"


def jobgate(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
    return subprocess.run(
        [str(Path(sys.executable).parent / "jobgate"), *args], cwd=cwd, env={**clean, **(env or {})},
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path, {"JOBGATE_DATABASE_URL": database_url}


def test_help_lists_every_command(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "--help")
    assert out.returncode == 0
    for command in ("serve", "worker", "db", "jobs", "token"):
        assert command in out.stdout
    for sub in (("jobs", "--help"), ("token", "create", "--help"), ("db", "--help"), ("serve", "--help"),
                ("worker", "--help")):
        assert jobgate(tmp_path, *sub).returncode == 0


def test_db_upgrade_creates_the_default_sqlite_database_in_the_working_folder(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "jobgate.db").is_file()
    assert jobgate(tmp_path, "db", "upgrade").returncode == 0  # idempotent


def test_jobs_list_shows_the_jobs_folder_with_their_flags(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    out = jobgate(cwd, "jobs", "list", env=env)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert "testjobs.ApprovalJob" in lines
    assert "Approval job" in lines["testjobs.ApprovalJob"]
    # new jobs start disabled; approval required; not sensitive
    assert lines["testjobs.ApprovalJob"].split("Approval job")[1].split()[:3] == ["no", "yes", "no"]
    assert "flagged as possibly having sensitive variables" in lines["testjobs.SensitiveApprovalJob"]


def test_enable_and_disable_take_effect(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    out = jobgate(cwd, "jobs", "enable", "testjobs.TestPass", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Enabled testjobs.TestPass (Test pass)."
    listed = jobgate(cwd, "jobs", "list", env=env).stdout
    assert next(line for line in listed.splitlines() if line.startswith("testjobs.TestPass ")).split()[3] == "yes"
    assert jobgate(cwd, "jobs", "disable", "Test pass", env=env).stdout.startswith("Disabled testjobs.TestPass")


def test_enabling_a_job_that_cannot_run_warns(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    out = jobgate(cwd, "jobs", "enable", "testjobs.SensitiveApprovalJob", env=env)
    assert out.returncode == 0
    assert "cannot run yet" in out.stderr and "requiring approval" in out.stderr


def test_a_broken_module_is_named_and_the_others_are_listed(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    (cwd / "jobs" / "broken.py").write_text("def oops(:\n")
    out = jobgate(cwd, "jobs", "list", env=env)
    assert out.returncode == 1  # CI catches a module that does not import
    assert "cannot load broken: SyntaxError" in out.stderr
    assert "Traceback" not in out.stderr
    assert "testjobs.TestPass" in out.stdout


def test_token_create_prints_the_token_alone_and_stores_only_its_hash(
    workdir: tuple[Path, dict[str, str]], database_url: str
) -> None:
    cwd, env = workdir
    out = jobgate(cwd, "token", "create", "--user", "U0ALICE", "--description", "ci", env=env)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert len(token) == 40 and out.stdout == token + "\n"
    db = Database.from_url(database_url)
    [stored] = read_tables(db.engine, "api_tokens")["api_tokens"]
    assert stored["user_id"] == "U0ALICE" and stored["key_hash"] != token
    db.dispose()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("jobs", "enable", "nope.Nope"), {}, "job 'nope.Nope' not found"),
        (("token", "create", "--user", "alice"), {}, "is not a Slack user ID"),
        (("token", "create"), {}, "the following arguments are required: --user"),
        (("token", "create", "--user", "U0ALICE", "--expires", "0"), {}, "--expires: '0' is not a number of days"),
        (("token", "list", "--user", "bob"), {}, "--user: 'bob' is not a Slack user ID"),
        (("token", "revoke"), {}, "the following arguments are required: PREFIX"),
        (("frobnicate",), {}, "invalid choice: 'frobnicate'"),
        (("jobs",), {}, "the following arguments are required"),
        (("db", "upgrade"), {"JOBGATE_TIME_ZONE": "Mars/Base"}, "JOBGATE_TIME_ZONE: 'Mars/Base' is not an IANA"),
        (("db", "upgrade"), {"JOBGATE_DATABASE_URL": "mysql://x"}, "JOBGATE_DATABASE_URL: 'mysql' is not supported"),
        (("db", "upgrade"), {"JOBGATE_MISFIRE_GRACE": "soon"}, "JOBGATE_MISFIRE_GRACE: 'soon' is not a number"),
        (("db", "upgrade"), {"JOBGATE_POLICY_FILE": "missing.yml"}, "JOBGATE_POLICY_FILE: 'missing.yml' does not"),
        (("db", "upgrade"), {"JOBGATE_APPROVAL_CHANNEL": "#ops"}, "JOBGATE_APPROVAL_CHANNEL: '#ops' is not a Slack"),
        (("db", "upgrade"), {"SLACK_BOT_TOKEN": "xoxp-1"}, "SLACK_BOT_TOKEN: expected a token starting with 'xoxb-'"),
        (("db", "upgrade"), {"JOBGATE_JOBS_PATH": "nowhere"}, "JOBGATE_JOBS_PATH: 'nowhere' is not a directory"),
        (("worker",), {}, "jobgate worker needs JOBGATE_CELERY_BROKER_URL"),
        (("worker", "--concurrency", "0"), {}, "--concurrency: '0' is not a number of processes"),
        (("serve",), {"JOBGATE_EXECUTOR": "celery"}, "JOBGATE_EXECUTOR=celery needs JOBGATE_CELERY_BROKER_URL"),
        (("serve",), {"JOBGATE_EXECUTOR": "threads"}, "JOBGATE_EXECUTOR: 'threads' is not an executor"),
    ],
)
def test_bad_arguments_and_configuration_fail_with_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    out = jobgate(tmp_path, *args, env=env)
    assert out.returncode != 0
    assert expected in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_a_malformed_permissions_file_stops_start_up_naming_the_entry(tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text("permissions:\n  - name: approvers\n    actions: [aprove]\n"
                                         "    object_types: [extras.job]\n    users: [U0BOB]\n")
    out = jobgate(tmp_path, "jobs", "list")
    assert out.returncode == 2
    assert "approvers" in out.stderr and "aprove" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_dotenv_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JOBGATE_DATABASE_URL=sqlite:///from-dotenv.db\n")
    assert jobgate(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / "from-dotenv.db").is_file()


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "db", "upgrade",
                  env={"JOBGATE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert out.returncode == 1
    assert out.stderr.startswith("jobgate: error: cannot use the database")
    assert len(out.stderr.strip().splitlines()) == 1


def test_the_example_jobs_load(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "jobs", "list", env={"JOBGATE_JOBS_PATH": str(EXAMPLES / "jobs")})
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "maintenance." in out.stdout


def test_token_list_shows_each_token_by_prefix_and_revoke_ends_one(
    workdir: tuple[Path, dict[str, str]], database_url: str
) -> None:
    cwd, env = workdir
    first = jobgate(cwd, "token", "create", "--user", "U0ALICE", "--description", "ci pipeline", "--expires", "30",
                    env=env).stdout.strip()
    second = jobgate(cwd, "token", "create", "--user", "U0BOB", env=env).stdout.strip()
    out = jobgate(cwd, "token", "list", env=env)
    assert out.returncode == 0, out.stderr
    header, *lines = out.stdout.splitlines()
    assert header.split() == ["PREFIX", "USER", "CREATED", "EXPIRES", "LAST", "USED", "STATE", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines}
    assert set(rows) == {first[:8], second[:8]}
    assert first not in out.stdout  # never the token itself
    assert rows[first[:8]].split()[1] == "U0ALICE" and rows[first[:8]].endswith("active  ci pipeline")
    assert "never" not in rows[first[:8]].split("active")[0].split()[3:5]  # it expires ...
    assert rows[second[:8]].split()[4:6] == ["never", "never"]  # ... this one does not, and neither was used
    only_bob = jobgate(cwd, "token", "list", "--user", "U0BOB", env=env).stdout
    assert second[:8] in only_bob and first[:8] not in only_bob

    revoked = jobgate(cwd, "token", "revoke", first[:8], env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"Revoked {first[:8]} (U0ALICE: ci pipeline)."
    listed = jobgate(cwd, "token", "list", "--user", "U0ALICE", env=env).stdout
    assert "revoked" in listed.splitlines()[1]


def test_token_revoke_refuses_an_unknown_or_ambiguous_prefix(
    workdir: tuple[Path, dict[str, str]], database_url: str
) -> None:
    cwd, env = workdir
    assert jobgate(cwd, "db", "upgrade", env=env).returncode == 0
    db = Database.from_url(database_url)
    with db.write() as session:  # two tokens whose prefixes share their start
        tokens = Repositories(session).tokens
        for prefix in ("abcd1234", "abcd5678"):
            tokens.add(key_hash=prefix * 8, key_prefix=prefix, user_id="U0ALICE", description="", now=NOW)
    db.dispose()
    unknown = jobgate(cwd, "token", "revoke", "ffff0000", env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == ("jobgate: error: no token has the prefix 'ffff0000'; "
                                      "'jobgate token list' shows the tokens")
    ambiguous = jobgate(cwd, "token", "revoke", "abcd", env=env)
    assert ambiguous.returncode == 2
    assert "matches 2 tokens (abcd1234 (U0ALICE), abcd5678 (U0ALICE))" in ambiguous.stderr
    assert len(ambiguous.stderr.strip().splitlines()) == 1
    assert "revoked" not in jobgate(cwd, "token", "list", env=env).stdout
    assert jobgate(cwd, "token", "revoke", "abcd1234", env=env).returncode == 0
