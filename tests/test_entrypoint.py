"""The container's entrypoint: how the start-up ingest's exit code decides whether the bot starts.

`python` is replaced on PATH by a script that records its arguments and exits with the code the
test chooses for the ingest; the entrypoint's own shell logic is what runs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def run_entrypoint(tmp_path: Path, ingest_exit: int) -> tuple[int, list[str], str]:
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {calls}\nif [[ "$2" == ingest ]]; then exit {ingest_exit}; fi\nexit 0\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "TELEGRAM_BOT_TOKEN": "1:x"}
    done = subprocess.run(["bash", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, calls.read_text().splitlines() if calls.exists() else [], done.stderr


@pytest.mark.parametrize(
    ("ingest_exit", "bot_starts", "exit_code"),
    [(0, True, 0), (3, True, 0), (1, False, 1), (2, False, 2)],
)
def test_the_bot_starts_unless_the_ingest_failed(
    tmp_path: Path, ingest_exit: int, bot_starts: bool, exit_code: int
) -> None:
    code, calls, stderr = run_entrypoint(tmp_path, ingest_exit)
    assert calls[0] == "-m ingest --quiet"
    assert ("-m bot" in calls) is bot_starts
    assert code == exit_code
    if ingest_exit == 3:
        assert "another ingest is updating the index" in stderr
