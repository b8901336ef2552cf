"""Settings: read once from the environment or .env, defaults as documented, one clear line per bad value."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.database_url == "sqlite:///jobgate.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.jobs_paths == () and settings.policy_file is None
    assert settings.time_zone == "UTC" and settings.misfire_grace == timedelta(hours=1)
    assert not settings.slack_enabled


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
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value}, cwd=tmp_path)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
