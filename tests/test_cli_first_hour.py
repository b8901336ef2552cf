"""A new user's slips at the command line are answered in one line, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.test_cli import jobgate


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_version(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "--version")
    assert out.returncode == 0 and out.stdout.startswith("jobgate ") and out.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize("driver", ["psycopg2", "asyncpg", "pg8000"])
def test_a_postgresql_url_with_another_driver_says_which_url_to_use(tmp_path: Path, driver: str) -> None:
    out = jobgate(tmp_path, "db", "upgrade",
                  env={"JOBGATE_DATABASE_URL": f"postgresql+{driver}://jg:secret@db.example:5432/jobgate"})
    assert out.returncode == 2
    line = one_line_error(out.stderr)
    assert "psycopg 3" in line and "postgresql+psycopg://jg:***@db.example:5432/jobgate" in line
    assert "secret" not in line


def test_a_sqlite_file_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    out = jobgate(tmp_path, "db", "upgrade", env={"JOBGATE_DATABASE_URL": f"sqlite:///{tmp_path}/nonexistent/x.db"})
    assert out.returncode == 2
    assert "does not exist" in one_line_error(out.stderr)
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_bad_port_is_one_line(tmp_path: Path, port: str) -> None:
    out = jobgate(tmp_path, "serve", "--port", port)
    assert out.returncode == 2
    assert "is not a TCP port; expected a whole number 1-65535" in one_line_error(out.stderr)


def test_a_busy_port_is_one_line_and_nothing_claims_to_listen(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = jobgate(tmp_path, "serve", "--port", str(port))
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr
    assert "listening" not in out.stderr and "Traceback" not in out.stderr


def test_db_upgrade_says_which_migrations_it_applied(tmp_path: Path) -> None:
    first = jobgate(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    applied, done = first.stdout.strip().splitlines()
    assert applied.startswith("Applied ") and " migrations: " in applied and done == "Database is up to date."
    assert jobgate(tmp_path, "db", "upgrade").stdout == "Database is up to date.\n"
