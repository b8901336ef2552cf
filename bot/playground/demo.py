"""The playground's demo workspace: three people, two channels, the permissions file that gives them their roles, and
where the example jobs are.

Pure: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Person:
    """Someone in the demo workspace."""

    user_id: str
    name: str
    time_zone: str
    role: str


PEOPLE = (
    Person("UALICE", "Alice", "Europe/Berlin", "may run jobs"),
    Person("UBOB", "Bob", "America/New_York", "approver"),
    Person("UCAROL", "Carol", "Asia/Tokyo", "admin"),
)
GENERAL = "CGENERAL"
APPROVALS = "CAPPROVALS"
CHANNELS = {GENERAL: "general", APPROVALS: "approvals"}
"""Channel ID → name; approval requests go to ``#approvals``."""

POLICY = """\
# The playground's permissions: Alice runs jobs, Bob approves them, Carol is an admin.
admins: [UCAROL]
groups:
  requesters: [UALICE]
  approvers: [UBOB]
permissions:
  - name: requesters run jobs
    actions: [run, view]
    object_types: [extras.job]
    groups: [requesters, approvers]
  - name: requesters see their requests and results
    actions: [view]
    object_types: [extras.scheduledjob, extras.jobresult]
    groups: [requesters]
  - name: approvers approve
    actions: [approve]
    object_types: [extras.job]
    groups: [approvers]
  - name: approvers manage scheduled jobs
    actions: [view, change, delete]
    object_types: [extras.scheduledjob]
    groups: [approvers]
  - name: approvers see results
    actions: [view]
    object_types: [extras.jobresult]
    groups: [approvers]
"""

def examples_folder() -> Path | None:
    """The ``examples/jobs`` folder of the source tree jobgate runs from, if it is there."""
    folder = Path(__file__).resolve().parents[2] / "examples" / "jobs"
    return folder if (folder / "maintenance.py").is_file() else None


def profiles() -> dict[str, dict[str, str]]:
    """``users.info`` profiles of the demo people, for the simulator."""
    return {p.user_id: {"name": p.name.lower(), "real_name": p.name, "tz": p.time_zone} for p in PEOPLE}
