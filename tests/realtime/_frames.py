"""Reading ``/ws`` frames from Starlette's test client without ever hanging a test.

The test session's own ``receive`` waits forever; these helpers wait at most ``timeout``
seconds for each frame (through the session's portal), so a frame that never comes fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

Frame = dict[str, Any]
TIMEOUT = 20.0  # generous: only a broken endpoint ever waits this long


def receive(ws: WebSocketTestSession, timeout: float = TIMEOUT) -> Frame:
    """The next frame; :class:`WebSocketDisconnect` (with the code) if the server closed."""

    async def one() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(one)
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
    frame: Frame = json.loads(message["text"])
    return frame


def until(
    ws: WebSocketTestSession, wanted: Callable[[Frame], bool], timeout: float = TIMEOUT
) -> tuple[list[Frame], Frame]:
    """Frames up to the first that is ``wanted``: (the ones before it, it)."""
    before: list[Frame] = []
    while True:
        frame = receive(ws, timeout)
        if wanted(frame):
            return before, frame
        before.append(frame)


def of_type(kind: str, **data: Any) -> Callable[[Frame], bool]:
    """A predicate: a frame of ``kind`` whose data holds ``data``."""

    def match(frame: Frame) -> bool:
        return frame.get("type") == kind and all(
            frame.get("data", {}).get(k) == v for k, v in data.items()
        )

    return match
