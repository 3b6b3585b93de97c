"""Who is connected, per company, across every process: sorted sets scored by expiry.

Each company has a sorted set of its live connections (member: user id and connection id,
score: when the connection expires, in Redis's own milliseconds, so hosts need not agree on the
time); connections of MSP admins (``"*"``) go to one set every company reads too. A hash per
connection remembers its sets for ``refresh`` and ``leave``. A process that dies without
``leave`` stops refreshing, and its connections drop out after the time-to-live.

Each operation is one Lua script, so a connection is never half joined or half refreshed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from ._connection import REDIS_ERRORS, RedisConnection

__all__ = ["DEFAULT_PRESENCE_TTL", "RedisPresence"]

DEFAULT_PRESENCE_TTL = 60.0
EVERY_COMPANY = "*"
# The connection's hash outlives its score so a refresh that comes late still finds it.
_HASH_TTL_FACTOR = 3

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] connection hash, KEYS[2..] sets; ARGV ttl_ms, member, hash ttl_ms.
_JOIN = (
    _NOW
    + """
local old = redis.call('HGET', KEYS[1], 'sets')
local old_member = redis.call('HGET', KEYS[1], 'member')
if old and old_member then
  for set in string.gmatch(old, '[^\\n]+') do redis.call('ZREM', set, old_member) end
end
local ttl = tonumber(ARGV[1])
local sets = {}
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], ttl)
  sets[#sets + 1] = KEYS[i]
end
redis.call('HSET', KEYS[1], 'member', ARGV[2], 'sets', table.concat(sets, '\\n'))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS[1] connection hash; ARGV ttl_ms, hash ttl_ms. 0 when the connection is unknown.
_REFRESH = (
    _NOW
    + """
local member = redis.call('HGET', KEYS[1], 'member')
local sets = redis.call('HGET', KEYS[1], 'sets')
if not member then return 0 end
local ttl = tonumber(ARGV[1])
for set in string.gmatch(sets, '[^\\n]+') do
  redis.call('ZADD', set, now + ttl, member)
  if redis.call('PTTL', set) < ttl then redis.call('PEXPIRE', set, ttl) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
)

# KEYS[1] connection hash.
_LEAVE = """
local member = redis.call('HGET', KEYS[1], 'member')
local sets = redis.call('HGET', KEYS[1], 'sets')
if member then
  for set in string.gmatch(sets, '[^\\n]+') do redis.call('ZREM', set, member) end
end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS sets to read; returns the members still live (expired ones are removed).
_ONLINE = (
    _NOW
    + """
local live = {}
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do live[#live + 1] = member end
end
return live
"""
)

_encode_member = msgspec.json.Encoder().encode
_decode_member = msgspec.json.Decoder(tuple[str, str]).decode


class RedisPresence:
    """A :class:`~alertwhisperer_adapters.realtime.Presence` shared by every process.

    When Redis cannot answer, every method raises the built-in ``ConnectionError`` (an
    ``OSError``): presence is shown to people, not a gate, and the WebSocket edge decides what a
    failed heartbeat means for its connection (it drops it; the client reconnects).
    """

    def __init__(self, connection: RedisConnection, *, ttl: float = DEFAULT_PRESENCE_TTL) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._redis = connection
        self.ttl_ms = max(1, round(ttl * 1000))

    def _connection_key(self, connection_id: str) -> str:
        return self._redis.key("presence", "conn", connection_id)

    def set_key(self, company_id: str) -> str:
        if company_id == EVERY_COMPANY:
            return self._redis.key("presence", "every-company")
        return self._redis.key("presence", "company", company_id)

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        try:
            result = await self._redis.script(script)(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            self._redis.health.failed(exc)
            raise ConnectionError("Redis does not answer (presence)") from None
        self._redis.health.succeeded()
        return result

    async def join(self, connection_id: str, user_id: str, company_ids: Collection[str]) -> None:
        sets = [self.set_key(c) for c in sorted(set(company_ids))]
        member = _encode_member((user_id, connection_id))
        await self._run(
            _JOIN,
            [self._connection_key(connection_id), *sets],
            [self.ttl_ms, member, self.ttl_ms * _HASH_TTL_FACTOR],
        )

    async def leave(self, connection_id: str) -> None:
        await self._run(_LEAVE, [self._connection_key(connection_id)], [])

    async def refresh(self, connection_id: str) -> None:
        await self._run(
            _REFRESH,
            [self._connection_key(connection_id)],
            [self.ttl_ms, self.ttl_ms * _HASH_TTL_FACTOR],
        )

    async def online(self, company_id: str) -> set[str]:
        keys = [self.set_key(company_id)]
        if company_id != EVERY_COMPANY:
            keys.append(self.set_key(EVERY_COMPANY))
        members = await self._run(_ONLINE, keys, [])
        return {_decode_member(member)[0] for member in members}
