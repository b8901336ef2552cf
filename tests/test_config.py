"""Settings: read once from the environment or .env, defaults as documented, one clear line per bad value."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, ExecutorKind, Settings


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.database_url == "sqlite:///jobgate.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.jobs_paths == () and settings.policy_file is None
    assert settings.time_zone == "UTC" and settings.misfire_grace == timedelta(hours=1)
    assert not settings.slack_enabled


def test_execution_defaults_are_local_workers_one_per_cpu_and_an_hour_limit(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.executor is ExecutorKind.LOCAL
    assert settings.workers == max(2, os.cpu_count() or 1)
    assert settings.celery_broker_url is None
    assert settings.default_time_limit == timedelta(hours=1)
    assert Settings().workers == settings.workers  # built directly (tests), the same default


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:6379/5", "amqp://guest:guest@127.0.0.1:5672//"])
def test_the_celery_executor_takes_its_broker(tmp_path: Path, broker: str) -> None:
    settings = Settings.from_env({"JOBGATE_EXECUTOR": "celery", "JOBGATE_CELERY_BROKER_URL": broker,
                                  "JOBGATE_WORKERS": "3", "JOBGATE_DEFAULT_TIME_LIMIT": "600"}, cwd=tmp_path)
    assert settings.executor is ExecutorKind.CELERY
    assert settings.celery_broker_url == broker
    assert settings.workers == 3
    assert settings.default_time_limit == timedelta(minutes=10)


def test_the_celery_executor_needs_a_broker(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"JOBGATE_EXECUTOR": "celery"}, cwd=tmp_path)
    assert str(err.value).startswith("JOBGATE_EXECUTOR=celery needs JOBGATE_CELERY_BROKER_URL")
    assert "\n" not in str(err.value)


def test_jobs_folder_and_policy_file_in_the_working_folder_are_found(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "policy.yml").write_text("admins: []\n")
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.jobs_paths == (tmp_path / "jobs",)
    assert settings.policy_file == tmp_path / "policy.yml"


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JOBGATE_TIME_ZONE=Europe/Berlin\nJOBGATE_MISFIRE_GRACE=60\n")
    settings = Settings.from_env({"JOBGATE_TIME_ZONE": "America/New_York"}, cwd=tmp_path)
    assert settings.time_zone == "America/New_York"
    assert settings.misfire_grace == timedelta(seconds=60)


def test_slack_settings(tmp_path: Path) -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                                  "JOBGATE_SLACK_API_URL": "http://127.0.0.1:9/api",
                                  "JOBGATE_APPROVAL_CHANNEL": "C0APPROVE"}, cwd=tmp_path)
    assert settings.slack_enabled
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.approval_channel == "C0APPROVE"


def test_plain_postgresql_urls_use_psycopg_3(tmp_path: Path) -> None:
    settings = Settings.from_env({"JOBGATE_DATABASE_URL": "postgresql://u:p@db:5432/jobgate"}, cwd=tmp_path)
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/jobgate"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JOBGATE_DATABASE_URL", "not a url", "JOBGATE_DATABASE_URL: 'not a url' is not a database URL"),
        ("JOBGATE_SLACK_API_URL", "ftp://x", "JOBGATE_SLACK_API_URL: 'ftp://x' is not an http(s) URL"),
        ("SLACK_APP_TOKEN", "xoxb-1", "SLACK_APP_TOKEN: expected a token starting with 'xapp-'"),
        ("JOBGATE_MISFIRE_GRACE", "-5", "JOBGATE_MISFIRE_GRACE: '-5' is not a number of seconds"),
        ("JOBGATE_WORKERS", "0", "JOBGATE_WORKERS: '0' is not a number of workers"),
        ("JOBGATE_SHUTDOWN_GRACE", "soon", "JOBGATE_SHUTDOWN_GRACE: 'soon' is not a number of seconds"),
        ("JOBGATE_EXECUTOR", "threads", "JOBGATE_EXECUTOR: 'threads' is not an executor; expected local or celery"),
        ("JOBGATE_CELERY_BROKER_URL", "localhost:6379", "JOBGATE_CELERY_BROKER_URL: 'localhost:6379' is not a broker"),
        ("JOBGATE_DEFAULT_TIME_LIMIT", "0", "JOBGATE_DEFAULT_TIME_LIMIT: '0' is not a time limit"),
        ("JOBGATE_DEFAULT_TIME_LIMIT", "1h", "JOBGATE_DEFAULT_TIME_LIMIT: '1h' is not a time limit"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value}, cwd=tmp_path)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_pending_requests_per_user_default_to_20_and_are_set_by_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}, cwd=tmp_path).max_pending_per_user == 20
    assert Settings.from_env({"JOBGATE_MAX_PENDING_PER_USER": "5"}, cwd=tmp_path).max_pending_per_user == 5
    for bad in ("0", "-3", "lots"):
        with pytest.raises(ConfigError, match=r"^JOBGATE_MAX_PENDING_PER_USER: .* expected a whole number >= 1"):
            Settings.from_env({"JOBGATE_MAX_PENDING_PER_USER": bad}, cwd=tmp_path)


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("1", True), ("true", True), ("YES", True),
                                                 ("on", True), ("0", False), ("off", False), ("No", False)])
def test_access_lines_are_off_unless_switched_on(tmp_path: Path, value: str | None, expected: bool) -> None:
    environ = {} if value is None else {"JOBGATE_ACCESS_LOG": value}
    assert Settings.from_env(environ, cwd=tmp_path).access_log is expected
