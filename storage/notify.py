"""PostgreSQL LISTEN: wakes this process's dispatcher and runner when another process commits something due.

The NOTIFY side is ``ScheduledJobRepository.notify_wakeup`` (sent inside the committing transaction). A notification
is not durable: it is lost while the listener reconnects, so polling stays on as the safety net.
Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from storage.repositories import WAKEUP_CHANNEL

log = logging.getLogger(__name__)


class WakeupListener:
    """A thread holding one LISTEN connection; calls ``on_wakeup`` for every notification.

    Args:
        url: the SQLAlchemy URL of the PostgreSQL database.
        on_wakeup: what to do when woken (called from the listener thread).
    """

    def __init__(self, url: str, on_wakeup: Callable[[], None]) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self.conninfo = parsed.render_as_string(hide_password=False)
        self.on_wakeup = on_wakeup
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jobgate-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {WAKEUP_CHANNEL}")
                    self.connected = True
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=100):
                            self.on_wakeup()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); polling covers the gap", exc)
            finally:
                self.connected = False
            self._stop.wait(1.0)
