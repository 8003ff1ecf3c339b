"""Start-up and memory: `python -m bot` as a new process against the local Bot API server.

Start-up is the time from launching the process to its "bot ready" log line (the model and the
index are loaded, the database migrated, the nudge jobs rebuilt and the commands set): on a fresh
data directory, and again on the same directory (a restart). Memory is the peak resident set
(VmHWM) of the bot process while it answers the same burst as the end-to-end benchmark.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import TOKEN, BenchContext, peak_rss_mb, rss_mb
from bench.harness.botapi import FakeBotApi
from bench.harness.botproc import spawn_bot
from bench.report import cell, spread, table, target
from bench.telegram_load import LoadPlan, analyse, drive, plan_load
from bot.config import Settings

DEFAULT_REPEATS = 3
READY_LINE = "bot ready"
# Log lines that mark the phases of a start, in order; a phase whose line changed is reported as None.
MILESTONES = {
    "first_log_line": "",
    "polling_set_up": "starting long polling",
    "model_loaded": "embedding model",
    "index_loaded": "advisor loaded index",
    "ready": READY_LINE,
}
READY_TIMEOUT = 120.0
READY_TARGET_SECONDS = 10.0
RSS_TARGET_MB = 800.0


def bot_env(settings: Settings, api: FakeBotApi, data_dir: Path) -> dict[str, str]:
    """The process environment: the index and model of this checkout; token, server and storage the benchmark's.

    Every setting a developer's `.env` could hold that would change the run is set explicitly,
    because the environment wins over `.env`.
    """
    prefixes = ("TELEGRAM_", "LLM_", "DATABASE_", "CHROMA_", "ALLOWED_", "ADMIN_", "WEBHOOK_", "HTTP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite+aiosqlite:///{(data_dir / 'bot.sqlite3').as_posix()}",
        CHROMA_PATH=str(settings.index_path.resolve()),
        CHROMA_URL=settings.chroma_url or "",
        EMBEDDING_MODEL=settings.embedding_model,
        # a fresh data directory makes its own ONNX export, as a first start does; the restart reuses it
        EMBEDDING_BACKEND=settings.embedding_backend,
        MODEL_CACHE_DIR="",
        LLM_MODEL="",
        ALLOWED_USER_IDS="",
        ADMIN_USER_IDS="",
        WEBHOOK_URL="",  # long polling, against the local server
        HTTP_PORT="",
        HF_HUB_OFFLINE="1",
        LOG_LEVEL="INFO",
    )
    return env


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    launched: float
    ready_seconds: float | None = None
    log: list[tuple[float, str]] = field(default_factory=list)  # seconds after launch, line

    def milestones(self) -> dict[str, float | None]:
        """Seconds after launch at which each phase's log line was read."""
        return {
            name: next((round(at, 2) for at, line in self.log if marker in line), None)
            for name, marker in MILESTONES.items()
        }

    @property
    def pid(self) -> int:
        return self.process.pid


async def _follow(stream: asyncio.StreamReader | None, bot: BotProcess, ready: asyncio.Event) -> None:
    """Keep reading the bot's log so its pipe never fills; note when the ready line shows up."""
    if stream is None:
        return
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        bot.log.append((time.perf_counter() - bot.launched, text))
        if READY_LINE in text and not ready.is_set():
            bot.ready_seconds = bot.log[-1][0]
            ready.set()


@asynccontextmanager
async def bot_process(settings: Settings, api: FakeBotApi, data_dir: Path) -> AsyncIterator[BotProcess]:
    """`python -m bot`, up and ready; stopped with SIGTERM (as a service manager would) on exit."""
    launched = time.perf_counter()
    process = await spawn_bot(bot_env(settings, api, data_dir))
    bot = BotProcess(process, launched)
    ready = asyncio.Event()
    readers = [asyncio.create_task(_follow(s, bot, ready)) for s in (process.stderr, process.stdout)]
    try:
        waiting = asyncio.create_task(ready.wait())
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({waiting, exited}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        exited.cancel()
        if not ready.is_set():
            tail = "\n".join(line for _, line in bot.log[-20:])
            raise RuntimeError(f"python -m bot did not log {READY_LINE!r} (exit code {process.returncode}):\n{tail}")
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
        for reader in readers:
            with suppress(asyncio.CancelledError):
                await reader


async def start_and_stop(settings: Settings, api: FakeBotApi, data_dir: Path) -> dict[str, float | None]:
    async with bot_process(settings, api, data_dir) as bot:
        figures = {"ready_s": bot.ready_seconds, "rss_at_ready_mb": rss_mb(bot.pid)}
        figures |= {f"{name}_s": at for name, at in bot.milestones().items() if name != "ready"}
        stopping = time.perf_counter()
    figures["stop_s"] = round(time.perf_counter() - stopping, 2)
    return figures


async def under_load(settings: Settings, api: FakeBotApi, data_dir: Path, plan: LoadPlan) -> dict[str, Any]:
    """Peak RSS of a fresh bot process while it answers the whole burst."""
    async with bot_process(settings, api, data_dir) as bot:
        samples: list[float] = []

        async def sample() -> None:
            while True:
                value = rss_mb(bot.pid)
                if value is not None:
                    samples.append(value)
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())
        try:
            load = await drive(api, plan, within=120 + plan.questions / 5)
        finally:
            sampler.cancel()
        peak = peak_rss_mb(bot.pid)
    return {
        "peak_rss_mb": peak,
        "rss_sampled_max_mb": max(samples, default=None),
        "rss_at_ready_mb": samples[0] if samples else None,
        "load": analyse(plan, load),
    }


def with_ingest_work(settings: Settings, data_dir: Path) -> None:
    """A first start follows `make ingest`, which trains the understanding classifiers and embeds the
    knowledge for the multilingual model under the model cache: copy that work into the fresh data
    directory. The ONNX export is left for the bot to make, as a first start does."""
    models = data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    for made in (
        *settings.model_cache_path.glob("understanding-*.npz"),
        *settings.model_cache_path.glob("multilingual-*.npz"),
    ):
        shutil.copy2(made, models / made.name)


async def run_async(ctx: BenchContext, plan: LoadPlan, repeats: int) -> dict[str, Any]:
    api = FakeBotApi(TOKEN)
    await api.start()
    fresh: list[dict[str, float | None]] = []
    restart: list[dict[str, float | None]] = []
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
                with_ingest_work(ctx.settings, Path(tmp))
                fresh.append(await start_and_stop(ctx.settings, api, Path(tmp)))
                restart.append(await start_and_stop(ctx.settings, api, Path(tmp)))
        with tempfile.TemporaryDirectory(prefix="bench-startup-load-") as tmp:
            with_ingest_work(ctx.settings, Path(tmp))
            loaded = await under_load(ctx.settings, api, Path(tmp), plan)
    finally:
        await api.stop()
    return {"fresh": fresh, "restart": restart, "under_load": loaded}


def _spread_of(runs: list[dict[str, float | None]], key: str) -> dict[str, float] | None:
    values = [r[key] for r in runs if r[key] is not None]
    return spread(v for v in values if v is not None) if values else None


def run(ctx: BenchContext, plan: LoadPlan | None = None) -> dict[str, Any]:
    repeats = ctx.repeats_or(DEFAULT_REPEATS)
    plan = plan or plan_load(ctx.advisor, ctx.questions)
    raw = asyncio.run(run_async(ctx, plan, repeats))
    fresh_ready = _spread_of(raw["fresh"], "ready_s")
    loaded = raw["under_load"]
    return {
        "repeats": repeats,
        "ready_fresh_data_dir_s": fresh_ready,
        "ready_restart_s": _spread_of(raw["restart"], "ready_s"),
        "stop_s": _spread_of(raw["fresh"] + raw["restart"], "stop_s"),
        # when each phase's log line appeared, on fresh starts: imports before the first, then the rest
        "phases_fresh_s": {name: _spread_of(raw["fresh"], f"{name}_s") for name in MILESTONES if name != "ready"},
        "rss_at_ready_mb": _spread_of(raw["fresh"], "rss_at_ready_mb"),
        "under_load": loaded,
        "targets": [
            target(
                "bot ready after start, s", fresh_ready["median"] if fresh_ready else None, READY_TARGET_SECONDS, "s"
            ),
            target("bot peak RSS under load, MB", loaded["peak_rss_mb"], RSS_TARGET_MB, "MB"),
        ],
    }


def render(result: dict[str, Any]) -> str:
    loaded = result["under_load"]
    load = loaded["load"]
    rows = [
        (
            "`python -m bot` to 'bot ready', fresh data dir, s (target < 10)",
            cell(result["ready_fresh_data_dir_s"], digits=2),
        ),
        ("`python -m bot` to 'bot ready', restart, s", cell(result["ready_restart_s"], digits=2)),
        *(
            (f"  fresh start: {name.replace('_', ' ')} at, s", cell(at, digits=2))
            for name, at in result["phases_fresh_s"].items()
        ),
        ("SIGTERM to exit, s", cell(result["stop_s"], digits=2)),
        ("RSS at ready, MB", cell(result["rss_at_ready_mb"], digits=0)),
        ("peak RSS (VmHWM) under the burst, MB (target < 800)", loaded["peak_rss_mb"]),
        (
            "burst against the process: replies complete / missing / order violations",
            f"{load['replies_complete']} / {load['replies_missing']} / {load['order_violations']}",
        ),
        ("burst against the process: replies/s, p95 s", f"{load['replies_per_second']}, {load['latency_s']['p95']}"),
    ]
    return f"### Start-up and memory of `python -m bot`, {result['repeats']} runs\n\n" + table(
        ("measure", "median (min-max)"), rows
    )
