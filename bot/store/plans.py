"""Each user's active learning plan and its steps."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.planner.models import LearningPlan, PlanStep
from bot.store.base import Repository, ensure_user
from bot.store.tables import learning_plans, plan_steps, users, utcnow

PLAN_COLUMNS = ("target_label", "target_occupation", "target_domain", "hours_per_week", "created_on", "notes")
STEP_COLUMNS = tuple(name for name in PlanStep.model_fields)


class PlanRepository(Repository):
    async def active(self, user_id: int) -> LearningPlan | None:
        async with self._sessions() as session, session.begin():
            columns = [learning_plans.c.id, *(learning_plans.c[name] for name in PLAN_COLUMNS)]
            plan = (
                (await session.execute(select(*columns).where(learning_plans.c.user_id == user_id))).mappings().first()
            )
            if plan is None:
                return None
            steps = await session.execute(
                select(*(plan_steps.c[name] for name in STEP_COLUMNS))
                .where(plan_steps.c.plan_id == plan["id"])
                .order_by(plan_steps.c.position)
            )
            return LearningPlan.model_validate(
                {
                    **{name: plan[name] for name in PLAN_COLUMNS},
                    "steps": [PlanStep.model_validate(dict(step)) for step in steps.mappings()],
                }
            )

    async def replace(self, user_id: int, plan: LearningPlan) -> None:
        """Make `plan` the user's active plan; the old plan and its steps go in the same transaction."""
        plan = LearningPlan.model_validate(plan.model_dump())  # a `model_copy(update=...)` skips validation
        async with self._sessions() as session, session.begin():
            await ensure_user(session, self._dialect, user_id)
            # Lock the user row (PostgreSQL; SQLite's write lock is already held) so that two concurrent
            # replacements queue up instead of colliding on the one-plan-per-user constraint.
            await session.execute(select(users.c.user_id).where(users.c.user_id == user_id).with_for_update())
            await _delete(session, user_id)
            values = plan.model_dump(mode="python", include=set(PLAN_COLUMNS))
            plan_id = await session.scalar(
                insert(learning_plans)
                .values(user_id=user_id, created_at=utcnow(), **values)
                .returning(learning_plans.c.id)
            )
            rows = [{"plan_id": plan_id, **step.model_dump(mode="python")} for step in plan.steps]
            if rows:
                await session.execute(insert(plan_steps), rows)

    async def delete(self, user_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await _delete(session, user_id)


async def _delete(session: AsyncSession, user_id: int) -> None:
    plans = select(learning_plans.c.id).where(learning_plans.c.user_id == user_id)
    await session.execute(delete(plan_steps).where(plan_steps.c.plan_id.in_(plans)))
    await session.execute(delete(learning_plans).where(learning_plans.c.user_id == user_id))
