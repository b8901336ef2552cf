"""A notification storm: many runs finishing within a second, all to tell one person, on SQLite.

What it prints (nothing is asserted): how long until the person's DM is current (every outcome delivered) with the
notifier folding the backlog into digests, how many messages that took, and how many calls the fake Slack answered
429. The fake Slack (``tests/fake_slack.py``) enforces Slack's pace: a second message to one channel within a second
is answered 429 with ``Retry-After``. Without digests the same storm needs one message per second: ``--runs``
seconds.

Measured on a shared 2-core machine: 500 runs at once, the DM current after 5.1 s in 5 messages, no 429.

Run it::

    .venv/bin/python bench/storm.py [--runs 500]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from dispatch_scenarios.common import NOOP_MODULE, NOOP_SOURCE, open_jobgate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.domain.records import JobResultStatus, NewJobResult
from bot.executor.runs import run_finished
from bot.notifier import Notifier
from bot.services import utcnow
from bot.slack import build_client
from storage.repositories import Repositories
from tests.fake_slack import FakeSlack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500, help="runs finishing at once (default 500)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as workdir, FakeSlack() as fake:
        fake.pace(1.0)
        jobs = Path(workdir) / "jobs"
        jobs.mkdir()
        (jobs / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE)
        core, job_id, name = open_jobgate(f"sqlite:///{workdir}/storm.db", jobs, fresh=True)
        now = utcnow()
        with core.db.write() as session:
            repos = Repositories(session)
            ids = [repos.job_results.add(NewJobResult(
                job_id=job_id, name=f"{name} {i}", user_id="UALICE",
                status=JobResultStatus.FAILED if i % 10 == 0 else JobResultStatus.COMPLETED,
                created_at=now - timedelta(seconds=1), completed_at=now)).id for i in range(args.runs)]
            repos.outbox.add_many([run_finished(job_result_id, "UALICE") for job_result_id in ids], now=now)
        settings = Settings(database_url=core.settings.database_url, jobs_paths=(jobs,), time_zone="UTC",
                            slack_bot_token="xoxb-bench", slack_api_url=fake.url)
        notifier = Notifier(core.db, build_client(settings, retries=False), poll_interval=0.05)
        started = time.monotonic()
        notifier.start()
        try:
            while notifier.pending():
                time.sleep(0.02)
            current = time.monotonic() - started
        finally:
            notifier.stop()
        messages = fake.calls_to("chat.postMessage")
        print(f"{args.runs} runs finished at once, told to one person (SQLite):")
        print(f"  DM current after {current:.2f} s in {len(messages)} messages; "
              f"{fake.rate_limited} answered 429 (one message per run would take about {args.runs} s)")


if __name__ == "__main__":
    main()
