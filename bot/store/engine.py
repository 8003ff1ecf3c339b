"""The async engine: one per store, with the per-connection settings each backend needs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_PRAGMAS = (
    # busy_timeout goes first so that switching to WAL waits for a lock held by another process
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)
# WAL is a property of the database file: set once, it stays. Switching needs a lock that another
# process may hold for a whole migration, so a connection only asks for it when the file is not in WAL yet.
SQLITE_WAL = "PRAGMA journal_mode=WAL"
# Connections kept open, and opened beyond that in a rush (see create_engine).
SQLITE_POOL_SIZE = 64
SQLITE_POOL_OVERFLOW = 16


def create_engine(url: str | URL, *, schema: str | None = None, **options: Any) -> AsyncEngine:
    """An engine for `url`; `schema` (PostgreSQL only) puts every table, alembic's included, in that schema.

    `options` go to `create_async_engine` (pool sizes, echo, connect_args ...). Statement parameters are
    left out of error messages and logs unless `hide_parameters=False` is passed: they are what users wrote.
    """
    options.setdefault("hide_parameters", True)
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    if schema is not None:
        if backend != "postgresql":
            raise ValueError(f"a schema can only be chosen on PostgreSQL, not on {backend}")
        connect_args = dict(options.pop("connect_args", {}))
        server_settings = {**connect_args.get("server_settings", {}), "search_path": schema}
        options["connect_args"] = {**connect_args, "server_settings": server_settings}
    if backend == "sqlite":
        _make_parent_dir(sa_url)
        # Every aiosqlite connection is a thread of its own, started while the event loop waits. With the
        # default pool of 5, a burst of answers opened and closed overflow connections all the time, each
        # start stalling every chat for milliseconds; a pool as large as the bot's concurrent updates keeps
        # the connections it opens.
        options.setdefault("pool_size", SQLITE_POOL_SIZE)
        options.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
    engine = create_async_engine(sa_url, **options)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _make_parent_dir(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def ensure_wal(cursor: Any, within_seconds: float = 30.0) -> None:
    """Put the database file in WAL mode unless it already is.

    SQLite can refuse the switch with "database is locked" at once, without waiting out busy_timeout,
    when another process opening the same new file holds a lock at that moment; that process is about
    to switch it too, so look again shortly.
    """
    deadline = time.monotonic() + within_seconds
    pause = 0.02
    while True:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute(SQLITE_WAL)
            return
        except Exception as error:  # the driver's OperationalError, as the async adapter raises it
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        # only while a new database file is being opened by several processes at once
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling skips BEGIN for SELECT and DDL; take it over (see begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            ensure_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a transaction that reads and then writes can never fail
        # half-way with SQLITE_BUSY because another connection wrote in between; busy_timeout makes it wait.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
