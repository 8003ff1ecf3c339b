"""The product reaches nothing but the configured Bot API: every socket it opens is watched from inside.

Each command runs as a real subprocess with a `sitecustomize` that installs an audit hook (PEP 578). The
hook writes down every connect, send and name lookup the process attempts, and refuses any that is not
loopback before the system call happens, so a regression is recorded, not sent. The hub "offline"
variables are removed from the environment: staying offline must come from the product itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import bot_command, bot_env, spawn_bot
from bench.harness.models import MODEL_CACHE
from tests.conftest import FIXTURE_KNOWLEDGE, ROOT

HOOK_SOURCE = textwrap.dedent(
    '''
    """Record every network target this process tries; refuse all but loopback (installed by a test)."""
    import ipaddress
    import os
    import socket
    import sys

    _LOG = os.environ["NETWORK_AUDIT_LOG"]
    _LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"}


    def _write(line):
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\\n").encode())
        finally:
            os.close(fd)


    def _is_loopback(host):
        if host is None or host in ("localhost", b"localhost", ""):
            return True
        if isinstance(host, bytes):
            host = host.decode()
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False


    def _hook(event, args):
        if not event.startswith("socket."):
            return
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            sock, address = args[0], args[1]
            family = socket.AddressFamily(sock.family).name
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or address is None:
                # AF_UNIX (asyncio's self-pipe, socketpair) and the like stay on this machine; a send
                # without an address goes where its connect, already checked, pointed
                _write(f"{event}\\t{family}\\t{address!r}\\t")
                return
            host, port = address[0], address[1]
        elif event in _LOOKUPS:
            family, host = "lookup", args[0]
            port = args[1] if event == "socket.getaddrinfo" else ""
        else:
            return
        verdict = "allowed" if _is_loopback(host) else "REFUSED"
        _write(f"{event}\\t{family}\\t{host}\\t{port}\\t{verdict}")
        if verdict == "REFUSED":
            raise ConnectionRefusedError(f"network access to {host}:{port} refused by the isolation test")


    _write(f"installed\\t{os.getpid()}\\t{sys.argv!r}")
    sys.addaudithook(_hook)
    '''
)


@dataclass(frozen=True)
class Attempt:
    event: str
    family: str
    host: str
    port: str
    verdict: str


def install_hook(directory: Path) -> tuple[Path, Path]:
    """Write the sitecustomize into `directory`; return (hook directory, log file)."""
    hook_dir = directory / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(HOOK_SOURCE, encoding="utf-8")
    return hook_dir, directory / "network.log"


OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def plain_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any bot settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LLM_", "DATABASE_", "CHROMA_"))}
    return {**env, **extra}


def isolated_env(hook_dir: Path, log: Path, base: dict[str, str]) -> dict[str, str]:
    """`base` with the hook first on PYTHONPATH and without the hub's offline switches."""
    env = {k: v for k, v in base.items() if k not in OFFLINE_SWITCHES}
    env["PYTHONPATH"] = os.pathsep.join([str(hook_dir), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NETWORK_AUDIT_LOG"] = str(log)
    return env


def read_log(log: Path) -> tuple[int, list[Attempt]]:
    """(processes that installed the hook, network attempts); local sockets (AF_UNIX ...) are left out."""
    installed, attempts = 0, []
    for line in log.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == "installed":
            installed += 1
        elif fields[1] in ("AF_INET", "AF_INET6", "lookup"):
            attempts.append(Attempt(*fields))
    return installed, attempts


def targets(attempts: list[Attempt]) -> set[tuple[str, str]]:
    return {(a.host, a.port) for a in attempts}


def run_isolated(
    command: list[str], tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], int, list[Attempt]]:
    hook_dir, log = install_hook(tmp_path)
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=isolated_env(hook_dir, log, env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    installed, attempts = read_log(log)
    return done, installed, attempts


def test_the_hook_records_and_refuses_a_non_loopback_target(tmp_path: Path) -> None:
    # the watcher itself must be able to fail: 0.0.0.0 is not loopback, so the hook refuses it before the
    # system call (and were the hook broken, Linux would route it to this machine, never outside)
    probe = textwrap.dedent(
        """
        import asyncio, socket, sys
        asyncio.run(asyncio.sleep(0))  # the event loop's self-pipe must keep working under the hook
        server = socket.socket(socket.AF_UNIX)
        server.bind(sys.argv[1])
        server.listen()
        socket.socket(socket.AF_UNIX).connect(sys.argv[1])  # a local socket: allowed
        for attempt in (
            lambda: socket.create_connection(("0.0.0.0", 9), timeout=1),  # a name lookup first
            lambda: socket.socket().connect(("0.0.0.0", 9)),  # a bare connect
        ):
            try:
                attempt()
            except OSError as error:
                print(type(error).__name__)
        """
    )
    done, installed, attempts = run_isolated(
        [sys.executable, "-c", probe, str(tmp_path / "unix.sock")], tmp_path, plain_env()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert installed == 1
    assert "socket.connect\tAF_UNIX" in (tmp_path / "network.log").read_text(encoding="utf-8")
    assert done.stdout.split() == ["ConnectionRefusedError", "ConnectionRefusedError"]
    assert [(a.event, a.host, a.verdict) for a in attempts] == [
        ("socket.getaddrinfo", "0.0.0.0", "REFUSED"),
        ("socket.connect", "0.0.0.0", "REFUSED"),
    ]


async def test_the_bot_talks_only_to_the_configured_bot_api(
    bot_api: FakeBotApi, real_index: Path, tmp_path: Path
) -> None:
    hook_dir, log = install_hook(tmp_path)
    env = isolated_env(hook_dir, log, bot_env(bot_api, tmp_path / "data", real_index))
    process = await spawn_bot(env)
    try:
        await bot_api.send_text("/start", chat_id=9810)
        await bot_api.send_text("which cert for cloud?", chat_id=9810)
        replies = await bot_api.wait_for_messages(3, chat_id=9810, within=180)
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert any("Sources" in reply["text"] for reply in replies)

    installed, attempts = read_log(log)
    print("network targets of python -m bot:", sorted(targets(attempts)))
    assert installed == 1
    assert [a for a in attempts if a.verdict != "allowed"] == []
    connects = [a for a in attempts if a.event == "socket.connect"]
    assert connects, "the bot never connected to the Bot API: the hook did not watch it"
    assert targets(connects) == {("127.0.0.1", str(bot_api.port))}
    assert targets(attempts) == {("127.0.0.1", str(bot_api.port))}  # lookups too: only the Bot API's address


def test_ask_opens_no_network_connection(real_index: Path, tmp_path: Path) -> None:
    # a fresh data directory: the embedding model's ONNX export is made by a child process, watched too
    done, installed, attempts = run_isolated(
        bot_command("ask", "which cert for cloud?", "--json"),
        tmp_path,
        plain_env(DATA_DIR=str(tmp_path / "data"), CHROMA_PATH=str(real_index), MODEL_CACHE_DIR=""),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"recommendations": [{' in done.stdout
    assert installed == 2  # `ask` and the export it started
    print("network targets of python -m bot ask:", sorted(targets(attempts)))
    assert attempts == []


def test_ingest_check_opens_no_network_connection(tmp_path: Path) -> None:
    done, installed, attempts = run_isolated([sys.executable, "-m", "ingest", "--check"], tmp_path, plain_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok: ")
    assert installed == 1
    assert attempts == []


def test_a_full_ingest_opens_no_network_connection(tmp_path: Path) -> None:
    # creating collections is where Chroma would send product telemetry, and embedding loads the model
    chroma = tmp_path / "chroma"
    ingest = ["-m", "ingest", "--knowledge", str(FIXTURE_KNOWLEDGE), "--chroma-path", str(chroma), "--quiet"]
    done, installed, attempts = run_isolated(
        [sys.executable, *ingest],
        tmp_path,
        plain_env(MODEL_CACHE_DIR=str(MODEL_CACHE)),  # the export already made: this process alone
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ingest: ") and " added" in done.stdout
    assert installed == 1
    print("network targets of python -m ingest:", sorted(targets(attempts)))
    assert attempts == []
