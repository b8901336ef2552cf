"""Run the playground's Block Kit renderer (``bot/playground/static/blockkit.js``) under node on payloads."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def node() -> str:
    """The node binary; the tests fail, saying so, without it."""
    found = shutil.which("node")
    if found is None:
        raise AssertionError("node is missing: the renderer tests run blockkit.js with node (apt-get install nodejs)")
    return found


def render_report(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each ``{"method", "params"}`` payload: ``unsupported`` types and ``missing`` words of its texts."""
    out = subprocess.run([node(), str(HERE / "render_check.js")], input=json.dumps(payloads), capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def run_js(expression: str) -> Any:
    """Evaluate a JavaScript expression with ``BK`` (the renderer) in scope; its JSON value."""
    script = (f"const BK = require({json.dumps(str(HERE.parent.parent / 'bot/playground/static/blockkit.js'))});"
              f"process.stdout.write(JSON.stringify({expression}));")
    out = subprocess.run([node(), "-e", script], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
