"""The store's own error: callers outside the store never see, nor import, the database library's exceptions."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

P = ParamSpec("P")
R = TypeVar("R")


class StoreUnavailable(Exception):
    """The database could not do what was asked (unreachable, locked, a table missing); nothing was changed."""


def translated(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Raise StoreUnavailable, with the database's error as its cause, instead of the library's exceptions."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except SQLAlchemyError as problem:
            raise StoreUnavailable(f"{type(problem).__name__}: {problem}") from problem

    return call
