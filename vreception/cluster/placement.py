"""Placing a session's media on the least-loaded live worker, atomically (Lua), and re-placing a lost worker's."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from vreception.cluster.keys import ClusterKeys

# Shared by both scripts: the least-loaded live worker of LIVE (load: sessions placed on it; a worker at capacity
# only when every one is), ties broken by id so that placement is deterministic. With NEAR (a lost worker's address)
# a worker at that address comes first among those with room: on the same machine it reads the lost worker's disk,
# so recovery registers the segments that were open there (the journal is where the process died).
_CHOOSE = """
local function choose(p, live, near)
  local best, best_rank = nil, nil
  for _, id in ipairs(live) do
    local info = redis.call('GET', p .. 'cluster:worker:' .. id)
    if info then
      local decoded = cjson.decode(info)
      local capacity = tonumber(decoded['capacity']) or 0
      local load = redis.call('SCARD', p .. 'cluster:sessions:' .. id)
      local full, far = 0, 1
      if load >= capacity then full = 1 end
      if near and decoded['address'] == near then far = 0 end
      local rank = {full, far, load}
      local better = best == nil
      if not better then
        for i = 1, 3 do
          if rank[i] ~= best_rank[i] then better = rank[i] < best_rank[i]; break end
          if i == 3 then better = id < best end
        end
      end
      if better then best, best_rank = id, rank end
    end
  end
  return best
end
local function live_workers(p)
  local live, dead = {}, {}
  for _, id in ipairs(redis.call('SMEMBERS', p .. 'cluster:workers')) do
    if redis.call('EXISTS', p .. 'cluster:worker:' .. id) == 1 then table.insert(live, id)
    else table.insert(dead, id) end
  end
  return live, dead
end
"""

# ARGV: prefix, session id. Returns the worker holding the session, placing it on the least-loaded live one when it
# has none ('' when no worker lives). A placed session stays where it is even while its worker is silent: only
# adoption (below) moves it, because only the adopter continues the recording and has the pages negotiate afresh,
# and a worker silent for a moment (Redis restarted) still holds the call.
_PLACE = _CHOOSE + """
local p, sid = ARGV[1], ARGV[2]
local key = p .. 'cluster:placement:' .. sid
local current = redis.call('GET', key)
if current then return current end
local live = live_workers(p)
local best = choose(p, live, false)
if not best then return '' end
redis.call('SET', key, best)
redis.call('SADD', p .. 'cluster:sessions:' .. best, sid)
return best
"""

# ARGV: prefix. Every session of a worker whose heartbeat expired goes to the least-loaded live worker, one on the
# same machine (the lost worker's address) first; a dead worker is forgotten once none of its sessions is left.
# Returns a flat list: session, new worker, lost worker, ...
_ADOPT = _CHOOSE + """
local p = ARGV[1]
local out = {}
local live, dead = live_workers(p)
for _, gone in ipairs(dead) do
  local near = redis.call('HGET', p .. 'cluster:addresses', gone)
  local left = 0
  for _, sid in ipairs(redis.call('SMEMBERS', p .. 'cluster:sessions:' .. gone)) do
    local key = p .. 'cluster:placement:' .. sid
    if redis.call('GET', key) == gone then
      local best = choose(p, live, near)
      if best then
        redis.call('SET', key, best)
        redis.call('SADD', p .. 'cluster:sessions:' .. best, sid)
        redis.call('SREM', p .. 'cluster:sessions:' .. gone, sid)
        table.insert(out, sid); table.insert(out, best); table.insert(out, gone)
      else
        left = left + 1
      end
    else
      redis.call('SREM', p .. 'cluster:sessions:' .. gone, sid)
    end
  end
  if left == 0 then
    redis.call('DEL', p .. 'cluster:sessions:' .. gone)
    redis.call('SREM', p .. 'cluster:workers', gone)
    redis.call('HDEL', p .. 'cluster:addresses', gone)
  end
end
return out
"""

# ARGV: prefix, session id, worker id. Forgets the placement if it is still on that worker.
_RELEASE = """
local p, sid, worker = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'cluster:placement:' .. sid
if redis.call('GET', key) == worker then redis.call('DEL', key) end
redis.call('SREM', p .. 'cluster:sessions:' .. worker, sid)
return 1
"""


@dataclass(frozen=True)
class Moved:
    """A session re-placed from a lost worker onto a live one."""

    session_id: int
    worker: str
    lost: str


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


class Placement:
    """Where each session's media lives (sessions are sticky: re-placed only when their worker is lost)."""

    def __init__(self, client: aioredis.Redis, keys: ClusterKeys) -> None:
        self.client, self.keys = client, keys
        self._place = client.register_script(_PLACE)
        self._adopt = client.register_script(_ADOPT)
        self._release = client.register_script(_RELEASE)

    async def place(self, session_id: int) -> str | None:
        """The worker holding SESSION_ID, placing it on the least-loaded live one if it has none (None: no live
        worker); a lost worker's sessions stay on it until adopt_orphans moves them."""
        return _text(await self._place(args=[self.keys.prefix, session_id])) or None

    async def placed_on(self, session_id: int) -> str | None:
        """The worker SESSION_ID was placed on (alive or not), without placing it."""
        return _text(await self.client.get(self.keys.placement(session_id))) or None

    async def release(self, session_id: int, worker_id: str) -> None:
        """WORKER_ID holds nothing of SESSION_ID any more: the next call places it afresh."""
        await self._release(args=[self.keys.prefix, session_id, worker_id])

    async def adopt_orphans(self) -> list[Moved]:
        """Re-place every session of every lost worker (on a live worker of the same machine first, which can read
        its journal); each move is returned once, to whoever ran this first."""
        flat = [_text(v) for v in await self._adopt(args=[self.keys.prefix])]
        return [Moved(int(flat[i]), flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]

    async def spread(self) -> dict[str, int]:
        """Sessions placed per known worker (for the bench and the operators)."""
        ids = [_text(m) for m in await self.client.smembers(self.keys.workers)]
        return {i: int(await self.client.scard(self.keys.sessions(i))) for i in sorted(ids)}
