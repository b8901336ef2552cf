"""A background loop that runs a step, then sleeps until woken or until the step's chosen timeout.

Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class WakeableLoop:
    """Runs ``step`` in a daemon thread; ``step`` returns how long to sleep (seconds) unless woken first.

    A wake-up that arrives while ``step`` runs is not lost: the next sleep returns at once. A step that raises is
    logged and retried after ``retry_after`` seconds; the loop never dies of it.

    Args:
        name: the thread's name.
        step: one round of work; returns the sleep before the next round.
        retry_after: the sleep after a failed round.
    """

    def __init__(self, name: str, step: Callable[[], float], *, retry_after: float) -> None:
        self.name = name
        self.step = step
        self.retry_after = retry_after
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Run the next round now."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                timeout = self.step()
                self.last_error = None
            except Exception as exc:  # a database hiccup must not end the loop; the next round retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s: round failed", self.name)
                timeout = self.retry_after
            self._wake.wait(max(0.0, timeout))


def shown_error(error: str | None, *, internals: bool) -> str | None:
    """A loop's last error as ``/healthz`` shows it: whole with ``internals``, else only its kind (the exception's type
    name), since the message may name hosts, SQL or paths."""
    if error is None or internals:
        return error
    return error.split(":", 1)[0].strip() or "error"


class Wakeups:
    """Who to wake after a commit that may make work due sooner (the dispatcher, the executor, the notifier).

    Services call it after such a commit; the background loops register themselves when they start. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def add(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every such commit from now on."""
        with self._lock:
            self._listeners.append(listener)

    def __call__(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
