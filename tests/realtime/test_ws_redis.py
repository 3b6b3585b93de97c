"""``/ws`` over the Redis feed and presence: the endpoint needs only the ports, so the same
behaviour holds with the carrier several processes share (real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from alertwhisperer_adapters.redis import RedisBackends, open_redis_backends

from ..conftest import service_url
from ..redis.support import wipe
from ..support.api import Api, running_api
from ._frames import of_type, receive, until
from .test_ws import barrier, post_chat, socket, webhook

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_api() -> Iterator[tuple[Api, RedisBackends]]:
    url = service_url("AW_TEST_REDIS_URL")
    prefix = f"awtest:{uuid.uuid4().hex}:"
    backends = open_redis_backends(url, prefix=prefix)
    try:
        with running_api(
            feed=backends.feed, presence=backends.presence, close=backends.close
        ) as api:
            yield api, backends
    finally:
        asyncio.run(wipe(url, prefix))


def test_webhook_events_reach_the_socket_filtered_per_tenant(
    redis_api: tuple[Api, RedisBackends],
) -> None:
    api, _ = redis_api
    with socket(api, api.acme.tech) as ws:
        webhook(api, "co-globex", signature="theirs")
        webhook(api, "co-acme", signature="ours")
        received = barrier(api, ws)
    alerts = [f["data"]["signature"] for f in received if f["type"] == "alert.created"]
    assert alerts == ["ours"]
    assert not [f for f in received if f.get("company_id") == "co-globex"]


def test_resume_from_a_stream_id_and_reload_for_an_unknown_one(
    redis_api: tuple[Api, RedisBackends],
) -> None:
    api, _ = redis_api
    with socket(api, api.acme.tech) as ws:
        _, seen = until(ws, of_type("presence"))
    post_chat(api, api.acme.admin, "co-acme", "while away")
    with socket(api, api.acme.tech, f"last_event_id={seen['id']}") as ws:
        missed, _ = until(ws, of_type("chat.message", body="while away"))
        assert "reload" not in [f["type"] for f in missed]
    with socket(api, api.acme.tech, "last_event_id=1-0") as ws:
        assert receive(ws)["type"] == "reload"


def test_presence_lists_who_is_connected(redis_api: tuple[Api, RedisBackends]) -> None:
    api, _ = redis_api
    with socket(api, api.acme.tech) as tech, socket(api, api.acme.admin):
        until(tech, of_type("presence", company_id="co-acme"))
        listed = api.client.get("/api/chat/co-acme/messages", headers=api.auth("msp"))
        online = {u["user_id"] for u in listed.json()["online"]}
    assert online == {api.acme.tech, api.acme.admin}
    listed = api.client.get("/api/chat/co-acme/messages", headers=api.auth("msp"))
    assert listed.json()["online"] == []
