"""Reading the permissions file is the edge's job (``bot.app``); the domain parses the text it is handed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import load_policy, read_policy_file
from bot.config import Settings
from bot.domain.permissions import Actor, JobRef, Perm, Policy, PolicyError

POLICY = """\
admins: [U0ADMIN1]
groups:
  approvers: ["@net-approvers"]
permissions:
  - name: approvers
    actions: [approve]
    object_types: [extras.job]
    jobs: ["maintenance.*"]
    groups: [approvers]
"""
MAINTENANCE = JobRef(slug="maintenance.reboot", name="Reboot switches")
APPROVER = Actor("U0CCC", frozenset({"net-approvers"}))


def test_load_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY, encoding="utf-8")
    policy = read_policy_file(path)
    assert policy.has_perm(APPROVER, Perm.APPROVE_JOB, MAINTENANCE)


def test_load_names_the_path_in_content_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("admins: [bob]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(path))}: admins: 'bob' is not a Slack user ID"):
        read_policy_file(path)


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(path))}: the permissions file does not exist$"):
        read_policy_file(path)


def test_load_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(tmp_path))}: cannot read the permissions file"):
        read_policy_file(tmp_path)  # a directory


def test_load_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_bytes(b"admins: [\xff\xfe]\n")
    with pytest.raises(PolicyError, match=rf"^{re.escape(str(path))}: the permissions file is not UTF-8 text$"):
        read_policy_file(path)


def test_the_settings_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    policy = load_policy(Settings.from_env({}, cwd=tmp_path))
    assert policy.admins == frozenset({"U0ADMIN1"})


def test_no_file_is_an_empty_policy(tmp_path: Path) -> None:
    policy = load_policy(Settings.from_env({}, cwd=tmp_path))
    assert policy.admins == frozenset() and policy.entries == ()
    assert repr(policy) == repr(Policy.empty())
