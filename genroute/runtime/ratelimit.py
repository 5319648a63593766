"""Per-API-key submission rate limit: a token bucket in Redis, updated atomically by one Lua
script on Redis' own clock, so every API process shares one budget per key."""

import math
from dataclasses import dataclass

import redis

from genroute.runtime.redis_keys import rate_key

# KEYS[1]: the bucket. ARGV: capacity, refill per second, cost. Returns the seconds to wait
# (as a string; 0 when taken). A request that must wait takes nothing.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


@dataclass(frozen=True)
class Allowance:
    """Whether a submission may go ahead, and if not, in how many seconds it could."""

    allowed: bool
    retry_after_s: int


class RateLimiter:
    """Token buckets per API key, shared by every API process through Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._take = client.register_script(_TAKE)

    def take(self, api_key_id: str, per_minute: int, cost: int = 1) -> Allowance:
        """Spend `cost` submissions of a bucket holding `per_minute`, refilled evenly."""
        wait = float(
            self._take(keys=[rate_key(api_key_id)], args=[per_minute, per_minute / 60, cost])
        )
        return Allowance(wait == 0, math.ceil(wait))
