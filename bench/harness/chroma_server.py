"""A real Chroma server, `chroma run` from the installed chromadb package, on loopback for the CHROMA_URL path.

The server keeps its data in a directory the test owns, listens on 127.0.0.1 only and logs to a file
beside it, so a failure can show what the server said. It sends nothing anywhere: its default
single-node configuration sets no OpenTelemetry endpoint, and the OTEL_* variables that could name one
are removed from its environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

START_WITHIN_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
PORT_ATTEMPTS = 3


class ChromaServerUnavailable(RuntimeError):
    """There is no `chroma` executable to run a server with."""


def chroma_executable() -> Path:
    """The `chroma` command installed with the chromadb package, beside this interpreter."""
    path = Path(sys.executable).parent / "chroma"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ChromaServerUnavailable(
            f"no `chroma` command at {path}; it comes with the chromadb package: `make .venv/.installed` "
            "or `.venv/bin/pip install chromadb`"
        )
    return path


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment() -> dict[str, str]:
    """This environment without the variables that could point the server's tracing anywhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHROMA_"))}


class ChromaServer:
    """One `chroma run` process; `start()` returns once it answers its heartbeat."""

    def __init__(self, directory: Path) -> None:
        self.data_path = directory / "data"
        self.log_path = directory / "server.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        executable = chroma_executable()
        self.data_path.mkdir(parents=True, exist_ok=True)
        for _ in range(PORT_ATTEMPTS):
            # another process may take the free port before the server binds it: then try another one
            self.port = free_loopback_port()
            if self._launch(executable):
                return
        raise RuntimeError(f"the Chroma server did not start; its log ends with:\n{self.log_tail()}")

    def _launch(self, executable: Path) -> bool:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(executable),
                    "run",
                    "--path",
                    str(self.data_path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=server_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_WITHIN_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if self.heartbeat() is not None:
                return True
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"the Chroma server did not answer within {START_WITHIN_SECONDS:.0f} s; its log ends with:\n{self.log_tail()}"
        )

    def heartbeat(self) -> int | None:
        """The server's clock in nanoseconds, or None while it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return int(json.load(response)["nanosecond heartbeat"])
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
