"""Running vae-exp's commands as a user does: a fresh process, no network, output captured."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m vae_exp.NAME ARGS` in `cwd`, with the test helpers importable."""
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(TESTS),
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", f"vae_exp.{name}", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=environment,
    )


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 180) -> None:
    """Wait until `path` exists while `process` runs; fail with its output if it ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
