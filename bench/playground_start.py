"""How long ``jobgate playground --no-browser`` takes, on a fresh clone, until its page answers.

It clones this repository's committed HEAD into a temporary folder (so no ``__pycache__`` of the clone exists: the
first run compiles it, as on a fresh clone), then starts ``python -m bot playground --no-browser`` there several
times with the interpreter of this virtual environment (its installed dependencies; the clone's own code), and
measures from the start of the process until ``GET /`` and ``GET /playground/api/state`` both answer 200. Each start
makes a fresh database, migrates it, discovers and enables the example jobs, and starts the worker processes.
Nothing is asserted; the contract is 10 s at most.

Measured on the shared, busy 2-core machine: first start 1.53 s, median of three 2.07 s, worst 3.66 s.

Run it::

    .venv/bin/python bench/playground_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_once(clone: Path) -> float:
    """Seconds from starting the playground in ``clone`` until its page and its state answer."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
    env["PYTHONPATH"] = str(clone)
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "bot", "playground", "--no-browser", "--port", str(port)],
                               cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        while not (answers(f"{base}/") and answers(f"{base}/playground/api/state")):
            if process.poll() is not None:
                raise SystemExit(f"the playground exited with status {process.returncode}")
            if time.monotonic() - started > 60:
                raise SystemExit("the playground did not answer within 60 s")
            time.sleep(0.02)
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobgate-clone-") as folder:
        clone = Path(folder) / "jobgate"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        head = subprocess.run(["git", "-C", str(clone), "log", "-1", "--format=%h"], capture_output=True, text=True,
                              check=True).stdout.strip()
        print(f"fresh clone of {head} in {clone}")
        times = []
        for run in range(1, args.runs + 1):
            seconds = start_once(clone)
            times.append(seconds)
            print(f"run {run}: the page answered {seconds:.2f} s after jobgate playground started"
                  f"{' (first run: compiles the clone)' if run == 1 else ''}")
        print(f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
              "(contract: at most 10 s)")


if __name__ == "__main__":
    main()
