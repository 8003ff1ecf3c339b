"""The terminal chat offers what Telegram offers: the questionnaire with numbered buttons, commands, a database."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.advisor import Advisor
from bot.dialog.assistant import Assistant
from bot.prompts import Texts
from bot.store import Store
from bot.terminal import LOCAL_USER, TerminalChat


def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"


def terminal(store: Store, advisor: Advisor, out: io.StringIO) -> TerminalChat:
    """The terminal chat on `store`, printing to `out`."""
    return TerminalChat(Assistant(store, advisor, Texts.load()), Texts.load(), out)


async def test_onboarding_plan_and_forget_in_the_terminal(advisor: Advisor, tmp_path: Path) -> None:
    url = database(tmp_path)
    out = io.StringIO()

    async with await Store.open(url) as store:
        chat = terminal(store, advisor, out)
        await chat.handle("/start")
        assert "(1/8)" in out.getvalue() and "1) Student" in out.getvalue()
        await chat.handle("1")  # the numbered button "Student"
        assert "(2/8)" in out.getvalue()
        await chat.handle("cloud engineer")
        await chat.handle("/cancel")
        profile = await store.profiles.get(LOCAL_USER.user_id)
        assert profile is not None and profile.current_role == "student" and profile.target_role == "Cloud Engineer"

    # A new process on the same database: the answers are still there and the plan follows the target.
    out = io.StringIO()
    async with await Store.open(url) as store:
        chat = terminal(store, advisor, out)
        await chat.handle("/plan")
        assert "Your plan toward Cloud Engineer" in out.getvalue()
        assert "1) Started" in out.getvalue() and "2) Done" in out.getvalue()
        await chat.handle("2")  # marks the first step done
        assert "Congratulations" in out.getvalue()
        await chat.handle("/nudges wednesday 07:45")
        assert "Wednesdays at 07:45" in out.getvalue()
        await chat.handle("/nonsense")
        assert "I don't know /nonsense" in out.getvalue()
        await chat.handle("/forget")
        await chat.handle("1")  # "Yes, delete everything"
        assert "deleted" in out.getvalue()
        assert await store.profiles.get(LOCAL_USER.user_id) is None
        assert await store.plans.active(LOCAL_USER.user_id) is None
        assert not await chat.handle("/quit")


async def test_a_role_given_in_a_sentence_is_stored_as_the_role(advisor: Advisor, tmp_path: Path) -> None:
    url = database(tmp_path)
    async with await Store.open(url) as store:
        chat = terminal(store, advisor, io.StringIO())
        await chat.handle("/start")
        await chat.handle("I work as a bank teller")
        await chat.handle("/cancel")
        profile = await store.profiles.get(LOCAL_USER.user_id)
        assert profile is not None and profile.current_role == "bank teller"


async def test_one_sentence_answers_several_questions_and_a_remark_is_not_an_answer(
    understanding_advisor: Advisor, tmp_path: Path
) -> None:
    url = database(tmp_path)
    out = io.StringIO()
    async with await Store.open(url) as store:
        chat = terminal(store, understanding_advisor, out)
        await chat.handle("/start")
        await chat.handle("I work in retail and want to become a data analyst, about 5 hours a week")
        said = out.getvalue()
        assert "(3/8)" in said and "Got that too: your target, your weekly hours" in said  # straight to the level
        await chat.handle("thanks, that helps!")
        assert "welcome" in out.getvalue().lower() and out.getvalue().count("(3/8)") == 2  # answered, asked again
        await chat.handle("/cancel")
        profile = await store.profiles.get(LOCAL_USER.user_id)
        assert profile is not None and profile.current_role == "retail"
        assert profile.target_role == "Data Analyst" and profile.hours_per_week == 5 and profile.level is None


async def test_cheaper_after_a_plan_refines_the_plan_s_field_under_a_budget(advisor: Advisor, tmp_path: Path) -> None:
    url = database(tmp_path)
    out = io.StringIO()
    async with await Store.open(url) as store:
        await store.users.touch(LOCAL_USER.user_id, LOCAL_USER.chat_id)
        await store.profiles.update(LOCAL_USER.user_id, current_role="teacher", target_role="Data Analyst")
        chat = terminal(store, advisor, out)
        await chat.handle("/plan")
        assert "Your plan toward Data Analyst" in out.getvalue()
        start = len(out.getvalue())
        await chat.handle("what about cheaper ones?")
        answer = out.getvalue()[start:]
        assert "data analytics" in answer and "up to about 150 USD" in answer, answer[:300]
        assert "a realistic plan" not in answer  # not the same pathway again


async def test_a_question_with_no_field_offers_fields_as_buttons(advisor: Advisor, tmp_path: Path) -> None:
    url = database(tmp_path)
    out = io.StringIO()
    async with await Store.open(url) as store:
        chat = terminal(store, advisor, out)
        await chat.handle("which exam should I take?")
        asked = out.getvalue()
        assert "Which field are you aiming at?" in asked and "2) Data analytics" in asked
        start = len(asked)
        await chat.handle("2")
        answer = out.getvalue()[start:]
        assert "For data analytics" in answer and "1. " in answer, answer[:300]


class Session:
    """A terminal chat on its own database, that returns what each message printed."""

    def __init__(self, store: Store, advisor: Advisor) -> None:
        self.store = store
        self.out = io.StringIO()
        self.chat = terminal(store, advisor, self.out)

    async def said(self, text: str) -> str:
        start = len(self.out.getvalue())
        await self.chat.handle(text)
        return self.out.getvalue()[start:]


@asynccontextmanager
async def session(advisor: Advisor, tmp_path: Path) -> AsyncIterator[Session]:
    async with await Store.open(database(tmp_path)) as store:
        yield Session(store, advisor)


async def test_a_decline_and_follow_ups_after_a_comparison(understanding_advisor: Advisor, tmp_path: Path) -> None:
    async with session(understanding_advisor, tmp_path) as chat:
        declined = await chat.said("please enroll me in the next CompTIA A+ class")
        assert "can't" in declined and "I help you choose" in declined
        assert "Side by side" in await chat.said("/compare AZ-900 vs AWS Cloud Practitioner")
        second = await chat.said("is the second one worth it?")
        assert "AWS Certified Cloud Practitioner" in second and "It depends on the role you want" in second
        cost = await chat.said("ok and how much does it cost?")  # "it" is the credential just described
        assert cost.strip().removeprefix("advisor>").strip().startswith("It costs")
        assert "AWS Certified Cloud Practitioner" in cost


async def test_a_credential_the_person_holds_is_noted_in_their_profile(
    understanding_advisor: Advisor, tmp_path: Path
) -> None:
    async with session(understanding_advisor, tmp_path) as chat:
        assert "Noted in your profile as done: CompTIA Security+" in await chat.said(
            "I passed Security+ last month, now what?"
        )
        profile = await chat.store.profiles.get(LOCAL_USER.user_id)
        assert profile is not None and profile.completed == ["comptia-security-plus"]
        # said once, not at every mention
        assert "Noted in your profile" not in await chat.said("what comes after Security+ for me?")
