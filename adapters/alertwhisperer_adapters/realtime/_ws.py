"""``WS /ws``: the real-time events of SPEC §10 for one logged-in user (docs/realtime.md).

One connection, in order:

1. **Authenticate** before accepting: ``?token=<bearer token>``, else the session cookie
   (whose HMAC must check out; a browser's ``Origin`` must then be this server's, so another
   site cannot open a socket with the visitor's cookie). Anything else is closed with 4401
   before the handshake completes (a real server answers the handshake 403).
2. **Subscribe** to the feed, then say ``hello``; with ``?last_event_id=`` send what the client
   missed from the feed's backlog (or ``reload`` when the backlog no longer holds that id).
   Subscribing first means nothing published in between is lost; entries that arrive both
   ways are sent once (deduplicated by id).
3. **Join** presence, announcing ``presence`` for each company the user sees.
4. Three tasks until the client goes: events from the feed (filtered per user), frames from
   the client (``ping`` → ``pong``), and the heartbeat.

Filtering: an event goes to a user who may see its company (MSP admins: every company); a
``notification`` only to the user in its ``data.user_id``. The user, and so their company set,
is loaded again from the token at every heartbeat: a revoked or expired token closes the socket
(4401) and a change of companies applies within one heartbeat interval.

A client too slow to keep up is not allowed to stall publishers: the feed ends its
subscription, the connection subscribes afresh and sends ``reload`` (the client refetches over
REST). A frame the client does not read within ``ws_send_timeout`` drops the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import msgspec
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from alertwhisperer_core import AuthenticationFailed
from alertwhisperer_core._models import User
from alertwhisperer_core._rbac import visible_company_ids
from alertwhisperer_core.ports import Event
from alertwhisperer_core.service import (
    Principal,
    authenticate_token,
    online_users,
    presence_companies,
    presence_event,
)

from ..http._auth import SESSION_COOKIE, session_token
from ..http._context import AppServices
from ._feed import FeedEntry, FeedSubscription

__all__ = [
    "CLOSE_TOO_BIG",
    "CLOSE_UNAUTHENTICATED",
    "MAX_FRAME_BYTES",
    "WS_PATH",
    "websocket_endpoint",
    "websocket_route",
]

WS_PATH = "/ws"
MAX_FRAME_BYTES = 64 * 1024
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
_MAX_TOKEN = 512
_MAX_EVENT_ID = 200
_CLEANUP_SECONDS = 10.0

logger = logging.getLogger("alertwhisperer.ws")
_encoder = msgspec.json.Encoder(enc_hook=str)


def iso(at: datetime) -> str:
    """An instant as ISO 8601 in UTC with a ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_frame(entry: FeedEntry) -> dict[str, Any]:
    """The wire form of one feed entry."""
    event = entry.event
    return {
        "id": entry.id,
        "type": event.type,
        "company_id": event.company_id,
        "data": event.data,
        "at": iso(event.at),
    }


def visible_to(event: Event, user_id: str, companies: frozenset[str] | None) -> bool:
    """Whether a user with ``companies`` (None: every company) receives ``event``."""
    if event.type == "notification":
        return bool(event.data.get("user_id") == user_id)
    if companies is None:
        return True
    return event.company_id is not None and event.company_id in companies


def _same_origin(socket: WebSocket, app: AppServices) -> bool:
    """A browser's ``Origin`` names this server (its host, or the public URL); a client that
    sends none is not a browser and carries no ambient cookie risk."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc.lower()
    host = socket.headers.get("host", "").lower()
    return bool(netloc) and netloc in {host, urlsplit(app.public_url).netloc.lower()}


def _credential(socket: WebSocket, app: AppServices) -> str | None:
    token = socket.query_params.get("token")
    if token is not None:
        return token if 0 < len(token) <= _MAX_TOKEN else None
    cookie_token = session_token(app.secret_key, socket.cookies.get(SESSION_COOKIE))
    if cookie_token is None or not _same_origin(socket, app):
        return None
    return cookie_token


async def _principal(app: AppServices, token: str) -> Principal | None:
    try:
        return await authenticate_token(app.services, token)
    except AuthenticationFailed:
        return None


async def websocket_endpoint(socket: WebSocket) -> None:
    """The ``/ws`` handler (module docstring)."""
    app: AppServices = socket.state.services
    token = _credential(socket, app)
    principal = await _principal(app, token) if token is not None else None
    if token is None or principal is None:
        await socket.close(code=CLOSE_UNAUTHENTICATED)
        return
    await socket.accept()
    connection = _Connection(socket, app, token, principal.user)
    await connection.run(socket.query_params.get("last_event_id") or None)


def websocket_route() -> WebSocketRoute:
    return WebSocketRoute(WS_PATH, websocket_endpoint, name="websocket")


class _Connection:
    def __init__(self, socket: WebSocket, app: AppServices, token: str, user: User) -> None:
        self.socket = socket
        self.app = app
        self.token = token
        self.user = user
        self.companies = visible_company_ids(user)
        self.id = uuid.uuid4().hex
        self._send_lock = asyncio.Lock()
        self._announced: list[str] = []

    # --- sending ------------------------------------------------------------------------------

    async def send(self, frame: Mapping[str, Any]) -> None:
        async with self._send_lock:
            with anyio.fail_after(self.app.ws_send_timeout):
                await self.socket.send_text(_encoder.encode(frame).decode())

    async def deliver(self, entry: FeedEntry) -> None:
        if visible_to(entry.event, self.user.id, self.companies):
            await self.send(event_frame(entry))

    async def close(self, code: int) -> None:
        if self.socket.application_state is WebSocketState.DISCONNECTED:
            return
        if self.socket.client_state is WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception), anyio.move_on_after(self.app.ws_send_timeout):
            await self.socket.close(code)

    # --- the connection's life ------------------------------------------------------------------

    async def run(self, last_event_id: str | None) -> None:
        subscription = self.app.feed.subscribe()
        self.subscription = subscription
        try:
            await self.send(
                {"type": "hello", "user_id": self.user.id, "last_event_id": last_event_id}
            )
            seen = await self._catch_up(last_event_id)
            await self._join()
            await self._until_first_ends(
                functools.partial(self._pump, seen), self._read_client, self._heartbeat
            )
        except WebSocketDisconnect:
            pass  # the client went away while we were sending
        except (TimeoutError, OSError) as exc:
            logger.info("dropping websocket of user %s: %r", self.user.id, exc)
        finally:
            # Shielded, so presence is put right even when the server cancels the handler.
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True):
                await self.subscription.close()
                await self._leave()
                await self.close(1000)

    async def _until_first_ends(self, *work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` together until one returns or the connection fails, then stop the rest.

        An anyio task group, not bare asyncio tasks: cancellation by the server (or the test
        client's portal) then unwinds every task the way anyio expects.
        """
        failures: list[Exception] = []

        async def one(job: Callable[[], Awaitable[None]], group: anyio.abc.TaskGroup) -> None:
            try:
                await job()
            except (WebSocketDisconnect, TimeoutError, OSError) as exc:
                failures.append(exc)
            finally:
                group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            for job in work:
                group.start_soon(one, job, group)
        if failures:
            raise failures[0]

    async def _catch_up(self, last_event_id: str | None) -> set[str]:
        """Send what the client missed; the ids sent, to skip when they also arrive live."""
        if last_event_id is None:
            return set()
        missed: list[FeedEntry] | None = None
        if len(last_event_id) <= _MAX_EVENT_ID and last_event_id.isascii():
            try:
                missed = await self.app.feed.since(last_event_id)
            except Exception:  # a back end's own error for an id it cannot parse
                logger.warning("feed could not resume from %r", last_event_id, exc_info=True)
        if missed is None:
            await self.send(
                {"type": "reload", "reason": "last_event_id is no longer in the event backlog"}
            )
            return set()
        for entry in missed:
            await self.deliver(entry)
        return {entry.id for entry in missed}

    async def _pump(self, seen: set[str]) -> None:
        subscription: FeedSubscription = self.subscription
        while True:
            delivered = 0
            async for entry in subscription:
                if seen:
                    if entry.id in seen:
                        continue
                    seen.clear()  # live entries are in order: the overlap is behind us
                delivered += 1
                await self.deliver(entry)
            # The feed ended the subscription: this client fell too far behind.
            await subscription.close()
            subscription = self.subscription = self.app.feed.subscribe()
            await self.send(
                {"type": "reload", "reason": "the connection fell behind the event stream"}
            )
            if delivered == 0:
                # Ended again without delivering anything: the feed cannot serve us now.
                await self.close(CLOSE_TRY_AGAIN)
                return

    async def _read_client(self) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text: str | None = message.get("text")
            raw: bytes | None = message.get("bytes")
            if text is not None:
                too_big = len(text) > MAX_FRAME_BYTES or len(text.encode()) > MAX_FRAME_BYTES
            else:
                too_big = len(raw or b"") > MAX_FRAME_BYTES
            if too_big:
                await self.close(CLOSE_TOO_BIG)
                return
            await self._answer(text)

    async def _answer(self, text: str | None) -> None:
        if text is None:
            await self.send({"type": "error", "detail": "binary frames are not accepted"})
            return
        try:
            frame = msgspec.json.decode(text)
        except msgspec.DecodeError:
            await self.send({"type": "error", "detail": "frames must be JSON objects"})
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        else:
            await self.send(
                {"type": "error", "detail": 'unknown message: the only one accepted is "ping"'}
            )

    async def _heartbeat(self) -> None:
        while True:
            await anyio.sleep(self.app.heartbeat_seconds)
            principal = await _principal(self.app, self.token)
            if principal is None:
                await self.close(CLOSE_UNAUTHENTICATED)
                return
            await self._refresh_user(principal.user)
            await self.send({"type": "heartbeat", "at": iso(self.app.services.clock.now())})
            await self.app.presence.refresh(self.id)

    async def _refresh_user(self, user: User) -> None:
        if user == self.user:
            return
        before = self._announced
        self.user = user
        self.companies = visible_company_ids(user)
        await self._join()
        await self._announce([c for c in before if c not in self._announced])

    # --- presence -----------------------------------------------------------------------------

    async def _join(self) -> None:
        companies = ["*"] if self.companies is None else sorted(self.companies)
        await self.app.presence.join(self.id, self.user.id, companies)
        self._announced = await presence_companies(self.app.services, self.user)
        await self._announce(self._announced)

    async def _leave(self) -> None:
        try:
            await self.app.presence.leave(self.id)
            await self._announce(self._announced)
        except Exception:  # the feed or presence store may already be gone at shutdown
            logger.warning("could not announce that user %s left", self.user.id, exc_info=True)

    async def _announce(self, company_ids: Collection[str]) -> None:
        """Publish who is online now in each of ``company_ids`` (names looked up once)."""
        if not company_ids:
            return
        online = {c: await self.app.presence.online(c) for c in company_ids}
        everyone = set().union(*online.values())
        names = {u.user_id: u for u in await online_users(self.app.services, everyone)}
        now = self.app.services.clock.now()
        for company_id, user_ids in online.items():
            present = [names[u] for u in user_ids if u in names]
            present.sort(key=lambda u: (u.name, u.user_id))
            await self.app.feed.publish(presence_event(company_id, present, now))
