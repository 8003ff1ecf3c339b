"""The update processor: chats in parallel, each chat in order, and one update at a time per user."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Chat, Message, Update, User

from bot.telegram.app import PerChatOrder


def update(update_id: int, user_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE if chat_id == user_id else Chat.SUPERGROUP)
    user = User(user_id, "Ana", is_bot=False)
    return Update(update_id, message=Message(update_id, dt.datetime.now(dt.UTC), chat, from_user=user, text="hi"))


class Recorder:
    def __init__(self) -> None:
        self.running: dict[int, int] = {}
        self.most_at_once: dict[int, int] = {}
        self.total_at_once = 0
        self.order: list[tuple[int, int]] = []  # (chat, update id) as handling began
        self._now = 0

    async def handle(self, item: Update, seconds: float) -> None:
        assert item.effective_user is not None and item.effective_chat is not None
        user = item.effective_user.id
        self.order.append((item.effective_chat.id, item.update_id))
        self.running[user] = self.running.get(user, 0) + 1
        self._now += 1
        self.most_at_once[user] = max(self.most_at_once.get(user, 0), self.running[user])
        self.total_at_once = max(self.total_at_once, self._now)
        await asyncio.sleep(seconds)
        self.running[user] -= 1
        self._now -= 1


async def test_one_user_is_served_one_update_at_a_time_across_chats() -> None:
    processor, recorder = PerChatOrder(), Recorder()
    # user 1 floods their private chat and two groups; users 2 and 3 write once each
    items = [update(i, 1, [1, -100, -200][i % 3]) for i in range(9)]
    items += [update(100, 2, 2), update(101, 3, -100)]
    await asyncio.gather(*(processor.process_update(item, recorder.handle(item, 0.02)) for item in items))
    assert recorder.most_at_once[1] == 1
    assert recorder.total_at_once >= 2  # other users were not held up behind user 1
    for chat in (1, -100, -200):
        ids = [update_id for c, update_id in recorder.order if c == chat]
        assert ids == sorted(ids)  # each chat in arrival order
    assert processor.busy_keys == 0  # nothing kept once all is handled


async def test_a_failing_update_releases_its_user_and_chat() -> None:
    processor = PerChatOrder()

    async def fails() -> None:
        raise RuntimeError("handler bug")

    done = asyncio.Event()

    async def works() -> None:
        done.set()

    results = await asyncio.gather(
        processor.process_update(update(1, 5, 5), fails()),
        processor.process_update(update(2, 5, 5), works()),
        return_exceptions=True,
    )
    assert isinstance(results[0], RuntimeError) and done.is_set()
    assert processor.busy_keys == 0
