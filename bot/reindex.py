"""/reindex: rebuild the index in a child process, then switch the running advisor to it.

The ingest runs as `python -m ingest` in its own process, the same command an operator runs, so the
bot never writes to the index itself; the ingest's locks (a file, and one on the Chroma server
when there is one) keep two rebuilds from running at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from bot.advisor import Advisor
from bot.config import Settings
from bot.dialog.admin import ReindexOutcome

logger = logging.getLogger(__name__)

LOCK_BUSY_EXIT = 3  # ingest's exit code when another ingest holds the lock
TIMEOUT_SECONDS = 30 * 60


def ingest_environment(settings: Settings) -> dict[str, str]:
    """The child sees the bot's own index, knowledge and model settings, and nothing secret it does not need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LLM_"))}
    env.update(
        DATA_DIR=str(settings.data_dir),
        KNOWLEDGE_DIR=str(settings.knowledge_dir),
        CHROMA_PATH=str(settings.index_path),
        EMBEDDING_MODEL=settings.embedding_model,
    )
    if settings.chroma_url:
        env["CHROMA_URL"] = settings.chroma_url
    return env


class Reindexer:
    def __init__(self, settings: Settings, advisor: Advisor) -> None:
        self.settings = settings
        self.advisor = advisor

    async def __call__(self) -> ReindexOutcome:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ingest",
            "--quiet",
            env=ingest_environment(self.settings),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            return ReindexOutcome(False, f"the ingest took longer than {TIMEOUT_SECONDS // 60} minutes", None)
        if process.returncode == LOCK_BUSY_EXIT:
            return ReindexOutcome(False, "another ingest is running on this index; try again when it is done", None)
        if process.returncode != 0:
            lines = [line for line in err.decode(errors="replace").splitlines() if line.startswith("error:")]
            logger.warning("reindex failed with exit code %s", process.returncode)
            return ReindexOutcome(False, "; ".join(lines[:3]) or f"ingest exited with {process.returncode}", None)
        summary = out.decode(errors="replace").strip().splitlines()[-1:] or ["ingest finished"]
        await asyncio.to_thread(self.advisor.refresh, True)
        index = self.advisor.catalog.collection_name
        logger.info("reindexed; answering from %s", index)
        return ReindexOutcome(True, summary[0], index)
