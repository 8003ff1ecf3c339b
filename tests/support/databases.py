"""The databases tests run on: a SQLite file of their own, or a fresh database on the local PostgreSQL server.

The server is the one at 127.0.0.1:5432 with user postgres, trust auth and a database named `test`.
Each test gets a database no other test or run sees, dropped afterwards, so runs never collide. When
the server cannot be reached, the tests that need it are skipped with a reason that says how to start one
(with CI=true they fail instead: CI must test every backend).
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
SERVER = f"postgresql://{USER}@{HOST}:{PORT}"
# the database that always exists: reachability is checked on it and new databases are made from it
MAINTENANCE_DATABASE = "test"
TEST_DATABASE_URL = f"postgresql+asyncpg://{USER}@{HOST}:{PORT}/{MAINTENANCE_DATABASE}"
START_HINT = (
    "start one with `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16`, "
    f"or run a local server that lets user {USER} in by trust auth and has a database named {MAINTENANCE_DATABASE}"
)
BACKENDS = ["sqlite", "postgresql"]


async def _connect_admin() -> asyncpg.Connection:
    return await asyncpg.connect(f"{SERVER}/{MAINTENANCE_DATABASE}", timeout=5)


async def _probe() -> str | None:
    try:
        connection = await _connect_admin()
    except (OSError, asyncpg.PostgresError, TimeoutError) as problem:
        return f"{type(problem).__name__}: {problem}"
    await connection.close()
    return None


@functools.cache
def postgres_problem() -> str | None:
    """Why the local server cannot be used (None when it can); asked once per test session.

    The probe runs on a thread of its own so that this works from inside a running event loop too.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _probe()).result()


def missing_service(why: str) -> NoReturn:
    """Skip the calling test on a developer's machine; fail it in CI, where every service must be there.

    A skip in CI would let a whole backend go untested while the run stays green.
    """
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a service the tests need is missing: {why}", pytrace=False)
    pytest.skip(why)


def skip_unless_postgres() -> None:
    """Skip the calling test, saying how to start a server, unless the local server is reachable."""
    problem = postgres_problem()
    if problem is not None:
        missing_service(f"PostgreSQL at {HOST}:{PORT} is unreachable ({problem}); {START_HINT}")


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "pytest") -> AsyncIterator[str]:
    """A new, empty database on the local server, as a SQLAlchemy URL; dropped on the way out.

    Skips the calling test when the server is unreachable.
    """
    skip_unless_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await _connect_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{USER}@{HOST}:{PORT}/{name}"
    finally:
        await drop_database(name)


async def drop_database(name: str) -> None:
    """Drop a database that bot processes killed by a test may still hold connections to."""
    admin = await _connect_admin()
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        # FORCE as well: a connection opened after the terminate must not make the drop fail
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def plain_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a bot's database that is not the store's, as an operator's own tool would open it.

    No pool: nothing stays connected between the queries of a test, nor after it.
    """
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


def sqlite_url(tmp_path: Path) -> str:
    # a directory that does not exist yet: the store creates it
    return f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'bot.sqlite3').as_posix()}"


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The test runs twice: on a new SQLite file under tmp_path/data, and on a new PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async with fresh_postgres_database(_prefix(request)) as url:
        yield url


@pytest.fixture
async def postgres_database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for this test alone, as a SQLAlchemy URL; dropped afterwards."""
    async with fresh_postgres_database(_prefix(request)) as url:
        yield url


def _prefix(request: pytest.FixtureRequest) -> str:
    # the test module's name: a database left behind by a killed run tells where it came from
    return str(request.module.__name__).rpartition(".")[2][:40]
