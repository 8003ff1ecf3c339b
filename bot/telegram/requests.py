"""HTTP to the Bot API: timeouts that wait for a slow answer, and sending again what never reached Telegram.

A request that went out and got no answer in time may still have been carried out: a reply sent
again after a timeout can reach the user twice. So the timeouts for answers are generous (a slow
but working server is waited for), and a request is sent again only when it never got to the
server: the connection could not be made, none was free in the pool, or the server closed it
without a word (most often a kept-alive connection it had already given up on). A timeout while
waiting for the answer, or a connection cut after the request went out, is logged and raised, never
sent again.

Polling gets a plain request: python-telegram-bot's updater retries getUpdates with its own backoff,
and asking for updates twice is harmless because the offset decides what counts as received.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import httpx
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

logger = logging.getLogger(__name__)

# Sends: connecting fails fast (and is retried); the answer is waited for long, because giving up on it
# leaves the bot not knowing whether the reply arrived.
SEND_CONNECT_TIMEOUT = 5.0
SEND_READ_TIMEOUT = 20.0
SEND_WRITE_TIMEOUT = 10.0
SEND_POOL_TIMEOUT = 2.0
# Polling: python-telegram-bot adds the long-poll time to this read timeout.
POLL_READ_TIMEOUT = 15.0
POLL_CONNECT_TIMEOUT = 5.0

# A request that never reached Telegram is tried this many times in all, pausing 0.5 s, 1 s, 2 s between.
SEND_ATTEMPTS = 4
FIRST_PAUSE_SECONDS = 0.5

# no connection could be made, or none was free: nothing went out
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# httpcore's words for a connection closed before any byte of an answer; its other protocol errors
# come after the answer began, so the server had done the work.
_CLOSED_WITHOUT_ANSWER = "without sending a response"


def never_reached_telegram(error: BaseException) -> bool:
    """Whether the request failed before the server could act on it, so sending it again is safe."""
    cause = error.__cause__
    if isinstance(cause, httpx.RemoteProtocolError):
        return _CLOSED_WITHOUT_ANSWER in str(cause)
    return isinstance(cause, _NOT_SENT)


def lost_on_the_way(error: NetworkError) -> bool:
    """Whether the request or its answer was lost in transit, rather than Telegram answering with an error (5xx)."""
    return isinstance(error.__cause__, httpx.HTTPError)


# Run once just before the next request of this task leaves for Telegram, after any rate-limit wait: a
# sender that must record "this may now reach the user" (a nudge) records it as late as possible.
# Returning False stops the request: the message is no longer the sender's to send.
BeforeSending = Callable[[], Awaitable[bool]]
BEFORE_SENDING: ContextVar[BeforeSending | None] = ContextVar("before_sending", default=None)


class NotSent(Exception):
    """The request was stopped before it left, by the task's BEFORE_SENDING check."""


class ResendingRequest(HTTPXRequest):
    """The HTTP client for everything but getUpdates: sends again, a few times, what never reached Telegram."""

    def __init__(
        self,
        *,
        connect_timeout: float = SEND_CONNECT_TIMEOUT,
        read_timeout: float = SEND_READ_TIMEOUT,
        write_timeout: float = SEND_WRITE_TIMEOUT,
        pool_timeout: float = SEND_POOL_TIMEOUT,
        attempts: int = SEND_ATTEMPTS,
        first_pause_seconds: float = FIRST_PAUSE_SECONDS,
    ) -> None:
        super().__init__(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            pool_timeout=pool_timeout,
        )
        self.attempts = attempts
        self.first_pause_seconds = first_pause_seconds

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]  # the URL carries the token; only the method name is logged
        check = BEFORE_SENDING.get()
        if check is not None:
            BEFORE_SENDING.set(None)  # once per send, however many retries follow
            if not await check():
                raise NotSent(endpoint)
        attempt, pause = 1, self.first_pause_seconds
        while True:
            try:
                return await super().do_request(
                    url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
                )
            except NetworkError as problem:
                if not never_reached_telegram(problem):
                    reason = "timed out" if isinstance(problem, TimedOut) else "the connection broke"
                    logger.warning("%s %s; it may have reached Telegram, so it is not sent again", endpoint, reason)
                    raise
                if attempt >= self.attempts:
                    logger.warning("%s did not reach Telegram in %d attempts: %s", endpoint, attempt, problem)
                    raise
                logger.info("%s did not reach Telegram (%s); sending it again in %.1f s", endpoint, problem, pause)
            await asyncio.sleep(pause)
            attempt, pause = attempt + 1, pause * 2


def send_request(read_timeout: float = SEND_READ_TIMEOUT) -> HTTPXRequest:
    return ResendingRequest(read_timeout=read_timeout)


def polling_request() -> HTTPXRequest:
    # getUpdates never runs twice at once, but at shutdown the call that marks the last batch as received
    # must not wait for the connection of the long poll just cancelled: a failed one would let the next
    # start fetch (and answer) that batch again
    return HTTPXRequest(
        connection_pool_size=2,
        connect_timeout=POLL_CONNECT_TIMEOUT,
        read_timeout=POLL_READ_TIMEOUT,
    )
