"""Free-text questions and /compare: the advisor's answer, written by the LLM while the user's daily
allowance of model calls lasts, with a chart when credentials are compared."""

from __future__ import annotations

import logging

from bot.advisor.models import Answer, Intent, Profile
from bot.dialog.callbacks import ChooseField, encode
from bot.dialog.deps import DialogDeps
from bot.dialog.replies import Button, Reply, UserRef
from bot.llm.answerer import LLMAnswerer, OnText
from bot.llm.prompts import LLM_INTENTS
from ingest.schema import Domain

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
HISTORY_TURNS = 6


class Questions:
    def __init__(self, deps: DialogDeps, llm: LLMAnswerer | None = None, llm_daily_requests: int = 0) -> None:
        self.deps = deps
        self.llm = llm  # None: every answer is the grounded one
        self.llm_daily_requests = llm_daily_requests

    async def ask(self, user: UserRef, text: str, on_text: OnText | None = None) -> list[Reply]:
        """A free-text question, answered with the profile and the chat's recent turns.

        In LLM mode `on_text` receives the answer as it is written, for front ends that stream it.
        """
        text = text.strip()
        if not text:
            return [Reply("Please write your question as text.")]
        if len(text) > MAX_TEXT_CHARS:
            return [
                Reply(
                    f"That message is too long for me ({len(text)} characters). Please ask in under {MAX_TEXT_CHARS}."
                )
            ]
        store, advisor = self.deps.store, self.deps.advisor
        await store.users.touch(user.user_id, user.chat_id)
        profile = await store.profiles.get(user.user_id)
        history = await store.turns.recent(user.chat_id, HISTORY_TURNS)
        answer = await advisor.aanswer(text, profile, history, user.language_code)
        if self.llm is not None and answer.in_scope and answer.intent in LLM_INTENTS:
            if await self._take_model_call(user):
                # every model call counts: rewriting a follow-up is a second one, made only if it is allowed
                condense = self.llm.condenses(history) and await self._take_model_call(user)
                state = advisor.state
                answer = await self.llm.write(
                    answer, profile, history, state.catalog, state.vocab, on_text, condense=condense
                )
            else:
                logger.info("a user reached the daily limit of model calls; answering in grounded mode")
        await store.turns.add(user.chat_id, user.user_id, answer.as_turn())
        noted = await self._note_held(user, answer, profile)
        if noted:
            answer.text += "\n\n" + noted
        image = await self._comparison_chart(answer) if answer.intent is Intent.COMPARE else None
        choices = [Button(_field_label(f).capitalize(), encode(ChooseField(f))) for f in answer.field_choices]
        buttons = [choices[i : i + 2] for i in range(0, len(choices), 2)]
        return [Reply(answer.text, buttons, answer=answer, image=image, image_name="comparison.png")]

    async def in_field(self, user: UserRef, field: Domain) -> list[Reply]:
        """A field chosen with a button after "which field?": the question before it, asked in that field."""
        last = await self.deps.store.turns.recent(user.chat_id, 1)
        question = last[-1].question if last else "which certification should I start with?"
        return await self.ask(user, f"{question} (in {_field_label(field)})")

    async def compare(self, user: UserRef, args: str) -> list[Reply]:
        if not args.strip():
            return [Reply("Tell me what to compare, e.g. /compare AZ-104 vs AWS SAA.")]
        return await self.ask(user, f"compare {args.strip()}")

    async def _note_held(self, user: UserRef, answer: Answer, profile: Profile | None) -> str:
        """Credentials the person says they hold ("I passed Security+") go into their profile as completed,
        so that later answers and the plan start past them; the reply says so. '' when there is nothing new."""
        done = profile.completed if profile else []
        new = [cid for cid in answer.facets.held_ids if cid not in done]
        catalog = self.deps.advisor.catalog
        names = [catalog.credentials[cid].name for cid in new if cid in catalog.credentials]
        if not names:
            return ""
        await self.deps.store.profiles.update(user.user_id, completed=[*done, *new])
        return self.deps.texts.held_noted.format(names=", ".join(names))

    async def _take_model_call(self, user: UserRef) -> bool:
        return await self.deps.store.llm_usage.take(user.user_id, self.deps.today(), self.llm_daily_requests)

    async def _comparison_chart(self, answer: Answer) -> bytes | None:
        catalog = self.deps.advisor.catalog
        credentials = [catalog.credentials[r.id] for r in answer.recommendations if r.id in catalog.credentials]
        if len(credentials) < 2:
            return None
        return await self.deps.draw(lambda: self.deps.charts.comparison(credentials[:4]))


def _field_label(field: Domain) -> str:
    """How a field is written in a sentence: "data analytics", "it support"."""
    return field.value.replace("-", " ")
