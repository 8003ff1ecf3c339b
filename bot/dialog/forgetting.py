"""/forget: delete everything stored about a user, once they confirm."""

from __future__ import annotations

import logging

from bot.dialog.callbacks import ConfirmForget, encode
from bot.dialog.deps import DialogDeps
from bot.dialog.profile_flow import ProfileFlow
from bot.dialog.replies import Button, Reply, UserRef

logger = logging.getLogger(__name__)


class Forgetting:
    def __init__(self, deps: DialogDeps, profile_flow: ProfileFlow) -> None:
        self.deps = deps
        self.profile_flow = profile_flow  # an open questionnaire is forgotten too

    async def forget(self, user: UserRef) -> list[Reply]:
        yes = Button("Yes, delete everything", encode(ConfirmForget(yes=True)))
        no = Button("No, keep it", encode(ConfirmForget(yes=False)))
        return [
            Reply(
                "This deletes everything I store about you: profile, plan, progress, chat history and nudge "
                "settings. It cannot be undone (/export first sends you a copy). Delete it all?",
                [[yes, no]],
            )
        ]

    async def confirm_forget(self, user: UserRef, yes: bool) -> list[Reply]:
        if not yes:
            return [Reply("Nothing was deleted.")]
        await self.deps.store.users.forget(user.user_id)
        await self.profile_flow.move_to(user, None)
        if self.deps.on_forget is not None:
            await self.deps.on_forget(user.user_id)
        logger.info("deleted all data of a user on request")
        return [
            Reply(
                "Done: I deleted your profile, plan, progress, chat history and nudge settings. /start begins afresh."
            )
        ]
