"""The LLM composer: a prompt | model runnable per intent, streaming, checked, with a grounded fallback.

The advisor has already understood, retrieved, ranked and written a grounded answer; the model
only rewrites it from the same sources. Whatever goes wrong (timeout, provider error, rate limit,
an empty or unverifiable answer) the user gets the grounded answer instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from bot.advisor.catalog import Catalog
from bot.advisor.models import Answer, Intent, Profile, Turn
from bot.advisor.vocabulary import Vocabulary
from bot.llm.checks import check_answer, check_draft, complete_sentences
from bot.llm.context import condensed_history, fenced_sources, profile_lines, prompt_sources, ranking_lines
from bot.llm.prompts import LLM_INTENTS, LLMPrompts

logger = logging.getLogger(__name__)

OnText = Callable[[str], Awaitable[None]]
MAX_STANDALONE_CHARS = 300


class DraftGate:
    """Passes a partly written answer on to be shown only as far as it passed the checks.

    Once a draft fails, nothing more is shown while the answer is written: the final check decides,
    and whatever the user gets then (the model's answer or the grounded one) replaces the draft.
    """

    def __init__(self, on_text: OnText | None, source_count: int, vocab: Vocabulary, system_prompt: str) -> None:
        self.on_text = on_text
        self.source_count = source_count
        self.vocab = vocab
        self.system_prompt = system_prompt
        self.closed = on_text is None
        self._finished = ""

    async def offer(self, text: str) -> None:
        if self.closed or self.on_text is None:
            return
        finished = complete_sentences(text)
        if finished == self._finished:
            return  # no new sentence finished: nothing new to check or show
        self._finished = finished
        draft = check_draft(finished, self.source_count, self.vocab, self.system_prompt)
        if draft is None:
            self.closed = True
            logger.info("llm draft failed the checks; nothing more is shown until the whole answer is checked")
        elif draft:
            await self.on_text(draft)


class LLMAnswerer:
    def __init__(self, model: BaseChatModel, prompts: LLMPrompts, timeout_seconds: float) -> None:
        self.prompts = prompts
        self.timeout_seconds = timeout_seconds
        # built once at start: the system prompt is fixed; user and source text only fill {context}
        self.chains: dict[Intent, Runnable[dict[str, str], AIMessage]] = {
            intent: ChatPromptTemplate.from_messages([("system", prompts.system), ("human", prompts.answers[intent])])
            | model
            for intent in LLM_INTENTS
        }
        self.condenser: Runnable[dict[str, str], str] = (
            ChatPromptTemplate.from_messages([("system", prompts.system), ("human", prompts.condense)])
            | model
            | StrOutputParser()
        )

    @staticmethod
    def condenses(history: Sequence[Turn]) -> bool:
        """Whether answering after this history takes a model call of its own to rewrite the question."""
        return bool(history)

    async def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up ("and cheaper ones?") rewritten as a question that stands on its own."""
        if not self.condenses(history):
            return question
        try:
            async with asyncio.timeout(self.timeout_seconds / 2):
                text = await self.condenser.ainvoke({"history": condensed_history(history), "question": question})
        except Exception as problem:  # the answer can still be written from the original question
            logger.warning("llm could not condense the follow-up (%s)", type(problem).__name__)
            return question
        line = " ".join(text.split())[:MAX_STANDALONE_CHARS]
        return line or question

    def context(
        self,
        answer: Answer,
        profile: Profile | None,
        history: Sequence[Turn],
        catalog: Catalog,
        standalone: str | None = None,
    ) -> str:
        question = answer.question
        if standalone and standalone.strip().lower() != question.strip().lower():
            question = f"{question}\n(In context, this means: {standalone})"
        return self.prompts.context.format(
            question=question,
            profile=profile_lines(profile),
            history=condensed_history(history),
            ranking=ranking_lines(answer),
            sources=fenced_sources(answer, catalog),
        )

    async def write(
        self,
        grounded: Answer,
        profile: Profile | None,
        history: Sequence[Turn],
        catalog: Catalog,
        vocab: Vocabulary,
        on_text: OnText | None = None,
        *,
        condense: bool = True,
    ) -> Answer:
        """The model's answer when it can be trusted, else the grounded one.

        `on_text` sees the answer while it is written, as far as it passed the checks. With `condense`
        False (no allowance left for a second model call) a follow-up is answered as it was asked.
        """
        chain = self.chains.get(grounded.intent)
        if chain is None or not grounded.in_scope:
            return grounded
        started = time.monotonic()
        text = ""
        given = prompt_sources(grounded)
        standalone = await self.standalone(grounded.question, history) if condense else None
        context = self.context(grounded, profile, history, catalog, standalone)
        drafts = DraftGate(on_text, len(given), vocab, self.prompts.system)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async for chunk in chain.astream({"context": context}):
                    piece = chunk.content if isinstance(chunk.content, str) else ""
                    if chunk.usage_metadata:
                        usage = chunk.usage_metadata
                        logger.info(
                            "llm request: %s input tokens, %s output tokens, %.1f s",
                            usage.get("input_tokens"),
                            usage.get("output_tokens"),
                            time.monotonic() - started,
                        )
                    if piece:
                        text += piece
                        await drafts.offer(text)
        except TimeoutError:
            logger.warning("llm timed out after %.0f s; answering in grounded mode", self.timeout_seconds)
            return grounded
        except Exception as problem:  # provider errors of every kind end in the same fallback
            logger.warning("llm failed (%s); answering in grounded mode", type(problem).__name__)
            return grounded
        checked = check_answer(text, len(given), vocab, self.prompts.system)
        if checked.dropped_citations:
            logger.warning("llm cited sources that were not given: %s; removed", checked.dropped_citations)
        if not checked.trustworthy:
            if not checked.text.strip():
                reason = "an empty answer"
            elif checked.leaks_instructions:
                reason = "an answer that repeats its instructions"
            else:
                reason = f"unknown credentials {checked.unknown_credentials}"
            logger.warning("llm gave %s; answering in grounded mode", reason)
            return grounded
        return grounded.model_copy(update={"text": checked.text, "mode": "llm", "sources": given})
