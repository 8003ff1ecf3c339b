"""What a weekly nudge says: the next step, how far along the user is, and one tip that fits."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.advisor.catalog import Catalog, IndexedChunk
from bot.dialog.callbacks import CheckIn, CheckInAnswer, ShowRoadmap, encode
from bot.dialog.replies import Button, Reply
from bot.planner.models import LearningPlan, StepStatus
from bot.planner.progress import plan_progress
from bot.prompts import Texts

MAX_TIP_CHARS = 320
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Nudge:
    reply: Reply
    tip_id: str | None


def _stop_nudges() -> Button:
    return Button("Stop nudges", encode(CheckIn(CheckInAnswer.STOP)))


def checkin_buttons(position: int | None) -> list[list[Button]]:
    done = [Button("Done", encode(CheckIn(CheckInAnswer.DONE, position)))] if position is not None else []
    return [
        [*done, Button("Still working on it", encode(CheckIn(CheckInAnswer.WORKING)))],
        [Button("Skip this week", encode(CheckIn(CheckInAnswer.SKIP))), _stop_nudges()],
        [Button("Show roadmap", encode(ShowRoadmap()))],
    ]


def compose_nudge(
    texts: Texts,
    catalog: Catalog,
    plan: LearningPlan | None,
    progress: dict[str, StepStatus],
    last_tip_id: str | None,
    week: str,
) -> Nudge:
    if plan is None or not plan.steps:
        buttons = [[Button("Make my plan", encode(CheckIn(CheckInAnswer.PLAN)))], [_stop_nudges()]]
        return Nudge(Reply(texts.nudge_no_plan, buttons), None)
    state = plan_progress(plan, progress)
    step = state.current or state.next_step
    if step is None:
        text = (
            f"Your weekly learning check-in\n\nEvery step of your plan toward {plan.target_label} is done. "
            "Congratulations! Send /plan new for your next goal."
        )
        return Nudge(Reply(text, [[_stop_nudges()]]), None)
    tip = pick_tip(catalog, step.credential_id, last_tip_id, week)
    text = texts.nudge.format(
        next_step=step.credential_name,
        milestone=step.milestone,
        target=plan.target_label,
        percent=state.percent,
        done=state.done,
        total=state.total,
        tip=tip_text(tip) if tip else "block the same hour each week for study; a fixed slot beats good intentions.",
        tip_source=tip.title if tip else "our study guidance",
    )
    return Nudge(Reply(text, checkin_buttons(step.position)), tip.id if tip else None)


def pick_tip(catalog: Catalog, credential_id: str, last_tip_id: str | None, week: str) -> IndexedChunk | None:
    """A guide section for the step's field (or general study guidance), never the same one twice in a row."""
    credential = catalog.credentials.get(credential_id)
    domains = {d.value for d in credential.domains} if credential else set()
    guides = [c for c in catalog.chunks if c.kind == "guide" and c.id != last_tip_id]
    in_field = [c for c in guides if credential_id in c.listed("credentials") or domains & set(c.listed("domains"))]
    general = [c for c in guides if c.meta.get("guide_kind") == "guidance"]
    pool = in_field or general or guides
    if not pool:
        return None
    # the same user gets a different tip each week, and two processes pick the same one
    index = int(hashlib.sha256(f"{credential_id}:{week}".encode()).hexdigest(), 16) % len(pool)
    return pool[index]


def tip_text(chunk: IndexedChunk) -> str:
    body = chunk.text.split("\n", 1)[1] if "\n" in chunk.text else chunk.text
    body = " ".join(line.strip().lstrip("-*• ").strip() for line in body.splitlines() if line.strip())
    sentences = _SENTENCE.split(body)
    tip = " ".join(sentences[:2])
    return tip if len(tip) <= MAX_TIP_CHARS else tip[: MAX_TIP_CHARS - 1].rsplit(" ", 1)[0] + "…"
