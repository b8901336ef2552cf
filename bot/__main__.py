"""``python -m bot`` and the ``jobgate`` command's entry point.

Kept light on purpose: every local worker process (started from the fork server) imports its parent's main script
again, as multiprocessing does, and the ``jobgate`` script imports this module. The command itself (``bot.cli``,
with SQLAlchemy, Slack and the API) is imported when it runs, so a worker carries only what running a job needs.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Run the jobgate command; returns the exit status."""
    from bot.cli import main as run_command

    return run_command()


if __name__ == "__main__":
    sys.exit(main())
