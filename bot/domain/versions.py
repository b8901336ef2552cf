"""Job code versions: how a version is shown, what changed, and whether a worker may run a run with the code it
loaded. A version is the sha256 (hex) of a job module's source, computed at discovery (``bot.registry``).

Pure, stdlib only: worker processes import it (through ``bot.executor.execution``), so it must stay light. Must not
import Slack, SQLAlchemy, storage, handlers or the other domain modules.
"""

from __future__ import annotations

SHORT_VERSION = 10
"""How many hex digits of a job's code version are shown to people."""


def short_version(version: str | None) -> str:
    """A code version as shown to people: its first ``SHORT_VERSION`` hex digits ("unknown" when there is none)."""
    return version[:SHORT_VERSION] if version else "unknown"


def code_changed_note(*, approved_version: str | None, current_version: str | None) -> str:
    """What changed, for the approvers asked again and the requester: ``old → new``."""
    return (f"The job's code changed since it was approved ({short_version(approved_version)} → "
            f"{short_version(current_version)}): the approval lapsed and the request needs approval again.")


def run_version_mismatch(*, approved_version: str | None, loaded_version: str) -> str | None:
    """Why a worker must not run a run approved for ``approved_version`` with the code it loaded, or None (also when
    either version is unknown)."""
    if not approved_version or not loaded_version or approved_version == loaded_version:
        return None
    return (f"not run: the code this worker loaded ({short_version(loaded_version)}) is not the approved version "
            f"({short_version(approved_version)}); the request awaits approval again")
