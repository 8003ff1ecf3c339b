"""Locks that keep two ingests from writing one index at the same time.

`IngestLock` is an exclusive flock on a file: the whole lock for a local Chroma directory, and a fast
same-machine check in front of `ServerIngestLock`. That one is held on a Chroma server itself, so
ingests on different machines that share the server exclude each other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import ChromaError, NotFoundError

logger = logging.getLogger(__name__)

# Not under the index's generation prefix, so the index's clean-up and the bot never treat it as an index.
LOCK_COLLECTION = "career-knowledge-ingest-lock"
STALE_AFTER_SECONDS = 60.0
HEARTBEAT_EVERY_SECONDS = 5.0
# Creating can fail because the lock exists and then vanish before we look at it (its owner released it).
ACQUIRE_ATTEMPTS = 3


class LockBusy(RuntimeError):
    """Another process holds the lock."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class LockError(RuntimeError):
    """The server lock cannot be taken or kept."""


class LockLost(LockError):
    """Another ingest took the server lock over: this one must not switch the index."""


class IngestLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> IngestLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            os.close(fd)
            raise LockBusy(str(self.path)) from error
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class Holder:
    """The lock collection as read from the server: which collection it is and what its metadata says."""

    collection_id: str
    token: str
    host: str
    pid: int
    heartbeat: float  # server clock, seconds

    @classmethod
    def of(cls, collection: Collection) -> Holder:
        meta = collection.metadata or {}
        return cls(
            collection_id=str(collection.id),
            token=str(meta.get("token", "")),
            host=str(meta.get("host", "?")),
            pid=int(_number(meta.get("pid"))),
            # an unreadable heartbeat reads as the oldest possible, so such a lock counts as stale
            heartbeat=_number(meta.get("heartbeat")),
        )

    @property
    def who(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def describe(self, now: float) -> str:
        return f"{self.who}, last heartbeat {max(now - self.heartbeat, 0.0):.0f} s ago"


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


class ServerIngestLock:
    """An exclusive lock held as a collection on the Chroma server.

    The server refuses to create a collection whose name exists, atomically, which is the mutual
    exclusion. The collection's metadata names the owner (host, pid, a random token) and carries a
    heartbeat that a background thread refreshes; all times are the server's clock, so machines with
    skewed clocks agree on a lock's age. A lock whose heartbeat is older than `stale_after` seconds
    belongs to an ingest that died, and the next one takes it over.

    Because a live ingest that stalls longer than `stale_after` (stopped, suspended, cut off) loses
    the lock that way, `check()` must be called right before the index is switched: it fails with
    `LockLost` when the token on the server is no longer ours.
    """

    def __init__(
        self,
        client: ClientAPI,
        *,
        name: str = LOCK_COLLECTION,
        stale_after: float = STALE_AFTER_SECONDS,
        heartbeat_every: float = HEARTBEAT_EVERY_SECONDS,
    ) -> None:
        if stale_after < 0 or heartbeat_every <= 0:
            raise ValueError("stale_after must be >= 0 and heartbeat_every > 0")
        self.client = client
        self.name = name
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.token = secrets.token_hex(16)
        self._collection: Collection | None = None
        self._acquired_at = 0.0
        self._lost: str | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> ServerIngestLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or take over a stale one; `LockBusy` when a live ingest holds it."""
        failure: ChromaError | None = None
        for _ in range(ACQUIRE_ATTEMPTS):
            failure = self._create()
            if failure is None:
                return
            held = self._read()
            if held is None:
                continue  # released between our attempt and our look: try again
            now = self._server_now()
            if now - held.heartbeat <= self.stale_after:
                raise LockBusy(f"the ingest lock {self.name!r} is held", holder=held.describe(now))
            if self._take_over(held, now):
                return
            raise LockBusy(f"the stale ingest lock {self.name!r} is being taken over by another ingest")
        if self._read() is None:  # it never existed, so creating failed for another reason
            raise LockError(f"cannot create the ingest lock {self.name!r} on the Chroma server: {failure}")
        raise LockBusy(f"the ingest lock {self.name!r} keeps changing hands")

    def check(self) -> None:
        """Raise `LockLost` unless the lock on the server is still ours.

        This is a fence checked before the pointer moves, not one the server enforces: an ingest that
        passes it and then stalls for longer than `stale_after` before its switch is taken over, and
        its late switch then lands after the new owner's (pointing the index at a generation that
        owner may already have dropped). It needs a stall of that length between two consecutive
        requests; any shorter one, or one anywhere else in the build, is caught here.
        """
        if self._lost:
            raise LockLost(self._lost)
        self._confirm_owned()

    def lost_reason(self) -> str | None:
        """Why the lock is no longer ours, or None while it is (or the server cannot tell us)."""
        try:
            self.check()
        except LockLost as lost:
            return str(lost)
        except Exception:  # the server cannot be asked: nothing is known to be lost
            return None
        return None

    def release(self) -> None:
        """Stop the heartbeat and delete the lock, if it is still ours."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._collection is None:
            return
        try:
            self._confirm_owned()
            # Between that check and the delete another ingest could take the lock over, if ours
            # already looked stale; we would then delete its lock. Only a heartbeat older than
            # `stale_after` opens that window, and the other ingest's own check before switching
            # the index then stops it.
            self.client.delete_collection(self.name)
        except LockLost as lost:
            logger.warning("not releasing the ingest lock: %s", lost)
        except NotFoundError:
            pass
        except Exception as error:  # the lock then goes stale and the next ingest takes it over
            logger.warning(
                "could not release the ingest lock on the Chroma server (%s); it is taken over after %.0f s",
                error,
                self.stale_after,
            )
        finally:
            self._collection = None

    def _create(self) -> ChromaError | None:
        """Create the lock collection as ours; the error when the server refused (usually: it exists)."""
        now = self._server_now()
        self._stop.clear()
        self._lost = None
        self._acquired_at = now
        try:
            self._collection = self.client.create_collection(self.name, metadata=self._metadata(now))
        except ChromaError as error:
            return error
        self._heartbeat = threading.Thread(
            target=self._beat, args=(self._collection,), name="ingest-lock-heartbeat", daemon=True
        )
        self._heartbeat.start()
        return None

    def _take_over(self, stale: Holder, now: float) -> bool:
        """Replace a stale lock with ours, unless it changed since we read it."""
        current = self._read()
        if current is not None and current != stale:
            return False  # its owner came back to life, or another ingest took it over first
        logger.warning("taking over the stale ingest lock of %s", stale.describe(now))
        # The remaining race: Chroma has no conditional delete, so the lock can change between that
        # read and the delete. Two ingests that both read the same stale lock can both get past the
        # check; the first deletes it and creates its own, the second then deletes that one and
        # creates its own. (Likewise a stalled owner that wakes up in that moment loses its lock.)
        # Both then believe they hold the lock, but the server names only the second: the first
        # one's heartbeat finds its collection gone and its check before switching the index fails
        # with `LockLost`, so only one of them switches the index.
        if current is not None:
            with contextlib.suppress(NotFoundError):
                self.client.delete_collection(self.name)
        return self._create() is None

    def _read(self) -> Holder | None:
        try:
            return Holder.of(self.client.get_collection(self.name))
        except NotFoundError:
            return None

    def _confirm_owned(self) -> None:
        if self._collection is None:
            raise LockLost("this ingest does not hold the ingest lock on the Chroma server")
        held = self._read()
        if held is None:
            raise LockLost("the ingest lock on the Chroma server was deleted by another process")
        if held.collection_id != str(self._collection.id) or held.token != self.token:
            raise LockLost(
                f"another ingest ({held.who}) took over the ingest lock on the Chroma server, "
                "having found this one's heartbeat too old"
            )

    def _beat(self, collection: Collection) -> None:
        while not self._stop.wait(self.heartbeat_every):
            try:
                self._confirm_owned()
                # modify() addresses the collection by id: a lock taken over is a new collection, and the
                # refresh then fails instead of writing our heartbeat into another ingest's lock.
                collection.modify(metadata=self._metadata(self._server_now()))
            except LockLost as lost:
                self._lost = str(lost)
            except NotFoundError:
                self._lost = "the ingest lock on the Chroma server was replaced by another ingest's"
            except Exception as error:  # a short outage is fine: the lock goes stale only after stale_after
                logger.warning("could not refresh the ingest lock's heartbeat: %s", error)
            if self._lost:
                logger.warning("lost the ingest lock: %s", self._lost)
                return

    def _metadata(self, now: float) -> dict[str, Any]:
        return {
            "token": self.token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "acquired": self._acquired_at,
            "heartbeat": now,
        }

    def _server_now(self) -> float:
        """The server's clock in seconds: one clock for every machine that reads the lock."""
        return self.client.heartbeat() / 1e9
