"""A per-worker copy of online reads, kept exact by Redis' invalidation messages.

Why: on the event loop, the Redis round trip is most of what a fresh hit costs (a loop
pass, a write and a read syscall, and the wake-up when the reply arrives; benchmarks/
results/http.md), and daily values change once a session, so a worker reads the same
bytes again and again. A copy that might be stale is worse than no copy, though: a
restatement, a lazy fill or an intraday push must be served as soon as it is written.

How it stays exact: Redis' server-assisted client-side caching (CLIENT TRACKING in
broadcast mode, Redis 6+). Redis sends the name of every key that is written, deleted,
expired or evicted, in any database, to this worker's listener connection
(`__redis__:invalidate`), and a flush-all on FLUSHDB. The worker drops those keys. Three
rules close the gaps:
- a read's result is kept only if no invalidation arrived while the read was in flight
  (`generation`), so a write racing the read is never kept over;
- before it answers from the copy, a read peeks at the listener's socket (one non-blocking
  recv with MSG_PEEK). If bytes are waiting there that the loop has not handled yet, the
  read goes to Redis. Redis queues a write's invalidation before the writer's reply, so a
  client that writes and then reads never gets the old value;
- the copy is used only while tracking is known to be on. The listener reads until its
  connection closes, the tracking connection is checked every CHECK_S (CLIENT
  TRACKINGINFO), and any failure empties the copy and turns it off until tracking is set up
  again.

The listener is a plain asyncio protocol with hiredis' RESP reader: each invalidation is
handled in the callback that receives it, with no task in between. The tracking connection
is redis-py's. The cluster profile does not use this: it keeps the thread reader, where
tracking would be per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import uuid
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import hiredis
import redis.asyncio

from stockfeatures.serving.online_reader import OnlineRows
from stockfeatures.serving.plan import ReadPlan

log = logging.getLogger(__name__)

CHANNEL = b"__redis__:invalidate"
# How often the tracking connection is checked. If it alone is closed (CLIENT KILL), Redis
# stops sending invalidations, and this bounds how long the copy could still be used.
CHECK_S = 0.25
RETRY_S = 1.0
# Request shapes kept per key. The plan resolver replaces each plan with a new one every
# registry_refresh_s, so the old plans' entries would otherwise pile up.
PLANS_PER_KEY = 8


def _command(*args: str | bytes | int) -> bytes:
    """One RESP command (the listener speaks RESP itself; see module doc)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


class _Listener(asyncio.Protocol):
    """The connection that receives invalidations: replies to its own set-up commands go
    to `replies`; once subscribed, each message goes straight to the cache."""

    def __init__(self, cache: HitCache):
        self.cache = cache
        self.reader = hiredis.Reader()
        self.replies: asyncio.Queue = asyncio.Queue()
        self.subscribed = False
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if self.subscribed and isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                self.cache.invalidate(reply[2])
            else:
                self.replies.put_nowait(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.cache.turn_off("the invalidation connection closed")
        if not self.lost.done():
            self.lost.set_result(exc)

    async def ask(self, *args: str | bytes | int, timeout_s: float):
        self.transport.write(_command(*args))
        async with asyncio.timeout(timeout_s):
            reply = await self.replies.get()
        if isinstance(reply, hiredis.ReplyError):
            raise redis.ResponseError(f"{args[0]}: {reply}")
        return reply


class HitCache:
    """Online rows by Redis key and plan, valid while Redis tracks this worker (module doc).

    Created and used on one event loop; start() begins tracking in a task of that loop."""

    def __init__(self, url: str, timeout_s: float, max_keys: int):
        self.url = url
        self.timeout_s = timeout_s
        self.max_keys = max_keys
        self.generation = 0
        self.on = False
        self._rows: dict[bytes, dict[int, tuple[ReadPlan, dict]]] = {}
        self._peek: socket.socket | None = None
        self._task: asyncio.Task | None = None
        self._last_failure = ""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._keep_tracking(), name="hit-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the copy ---------------------------------------------------------------------------

    def get(self, plan: ReadPlan, tickers: Sequence[str], keys: Sequence[bytes]) -> OnlineRows | None:
        """Every ticker's rows for `plan`, or None to read Redis (one missing is enough)."""
        if not self.on or self.invalidation_waiting():
            return None
        rows: OnlineRows = {}
        plan_id = id(plan)
        for ticker, key in zip(tickers, keys, strict=True):
            entry = self._rows.get(key)
            kept = entry.get(plan_id) if entry is not None else None
            if kept is None or kept[0] is not plan:
                return None
            rows[ticker] = kept[1]
        return rows

    def put(self, plan: ReadPlan, tickers: Sequence[str], keys: Sequence[bytes],
            rows: OnlineRows, generation: int) -> None:
        """Keep a read's rows, unless an invalidation arrived since it began (`generation`)."""
        if not self.on or generation != self.generation:
            return
        if len(self._rows) + len(keys) > self.max_keys:
            self._rows.clear()
        plan_id = id(plan)
        for ticker, key in zip(tickers, keys, strict=True):
            by_plan = self._rows.setdefault(key, {})
            if len(by_plan) >= PLANS_PER_KEY and plan_id not in by_plan:
                by_plan.clear()  # plans are re-resolved every minute: drop the replaced ones
            by_plan[plan_id] = (plan, rows[ticker])

    def invalidate(self, keys: list[bytes] | None) -> None:
        """Keys Redis says changed; None (a flush) drops everything."""
        self.generation += 1
        if keys is None:
            self._rows.clear()
            return
        for key in keys:
            self._rows.pop(key, None)

    def turn_off(self, why: str, quiet: bool = False) -> None:
        """quiet: the loop is stopping (its logging handlers may already be closed)."""
        if self.on and not quiet:
            log.warning("online read cache off (%s); reading Redis until tracking is back", why)
        self.on = False
        self.generation += 1
        self._rows.clear()

    def invalidation_waiting(self) -> bool:
        """Bytes on the listener's socket the loop has not handled yet (module doc)."""
        try:
            return bool(self._peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return False
        except OSError:
            return True

    # -- tracking ---------------------------------------------------------------------------

    async def _keep_tracking(self) -> None:
        while True:
            try:
                await self._track()
            except asyncio.CancelledError:
                self.turn_off("stopped", quiet=True)
                raise
            except Exception as error:  # Redis down or restarted: read it directly meanwhile
                why = f"{type(error).__name__}: {error}"
                self.turn_off(why)
                if why != self._last_failure:  # once per cause, not once a second
                    log.info("online read cache: tracking not set up (%s); retrying every %g s",
                             why, RETRY_S)
                    self._last_failure = why
            await asyncio.sleep(RETRY_S)

    async def _track(self) -> None:
        listener, transport = await self._listen()
        tracker = redis.asyncio.Redis.from_url(
            self.url, single_connection_client=True, socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s, client_name=f"stockfeatures-tracking-{os.getpid()}")
        try:
            listener_id = await listener.ask("CLIENT", "ID", timeout_s=self.timeout_s)
            await listener.ask("SUBSCRIBE", CHANNEL, timeout_s=self.timeout_s)
            listener.subscribed = True
            await tracker.client_tracking_on(clientid=listener_id, bcast=True)
            self._peek = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
            self.generation += 1
            self.on = True
            self._last_failure = ""
            log.info("online read cache on (Redis tracking, listener client %s)", listener_id)
            while not listener.lost.done():
                await asyncio.wait([listener.lost], timeout=CHECK_S)
                if not _tracking_on(await tracker.client_trackinginfo(), listener_id):
                    raise redis.ConnectionError("Redis no longer tracks keys for this worker")
            raise redis.ConnectionError(f"invalidation connection lost: {listener.lost.result()}")
        finally:
            self.turn_off("tracking ended", quiet=bool(asyncio.current_task().cancelling()))
            transport.close()
            if self._peek is not None:
                self._peek.close()
                self._peek = None
            with contextlib.suppress(Exception):
                await tracker.aclose()

    async def _listen(self) -> tuple[_Listener, asyncio.Transport]:
        loop = asyncio.get_running_loop()
        parts = urlsplit(self.url)
        async with asyncio.timeout(self.timeout_s):
            if parts.scheme == "unix":
                transport, listener = await loop.create_unix_connection(lambda: _Listener(self), parts.path)
            else:
                context = ssl.create_default_context() if parts.scheme == "rediss" else None
                transport, listener = await loop.create_connection(
                    lambda: _Listener(self), parts.hostname or "127.0.0.1", parts.port or 6379, ssl=context)
        try:
            if parts.password:
                user = unquote(parts.username) if parts.username else "default"
                await listener.ask("AUTH", user, unquote(parts.password), timeout_s=self.timeout_s)
            await listener.ask("CLIENT", "SETNAME", f"stockfeatures-invalidations-{os.getpid()}-"
                               f"{uuid.uuid4().hex[:8]}", timeout_s=self.timeout_s)
        except BaseException:
            transport.close()
            raise
        return listener, transport


def _tracking_on(info, listener_id: int) -> bool:
    """CLIENT TRACKINGINFO (a flat list in RESP2, a map in RESP3) says on, to our listener."""
    fields = dict(zip(info[::2], info[1::2], strict=True)) if isinstance(info, list) else dict(info)
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    flags = {f.decode() if isinstance(f, bytes) else f for f in fields.get("flags", [])}
    return "on" in flags and "broken_redirect" not in flags and fields.get("redirect") == listener_id
