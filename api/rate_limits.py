"""Spending an API key's submission rate before a call is accepted (429 with Retry-After when
it is spent). The bucket lives in Redis; while Redis is away the API keeps accepting."""

import logging

import redis

from genroute.api.auth import Principal
from genroute.errors import RateLimited, RequestRejected
from genroute.runtime.ratelimit import RateLimiter

log = logging.getLogger(__name__)


def charge(limiter: RateLimiter, principal: Principal, default_per_minute: int, cost: int) -> None:
    """Spend `cost` of the key's rate (its own, else the default), or refuse the whole call."""
    per_minute = principal.rate_limit_per_minute or default_per_minute
    if cost > per_minute:
        raise RequestRejected(
            "items", f"{cost} items exceed this key's rate of {per_minute} per minute; split them"
        )
    try:
        allowance = limiter.take(str(principal.key_id), per_minute, cost)
    except redis.RedisError:
        log.warning("rate limit unreadable; accepting %d submissions unmetered", cost)
        return
    if not allowance.allowed:
        raise RateLimited(
            "authorization",
            f"this key may submit {per_minute} tasks per minute; retry in "
            f"{allowance.retry_after_s} s",
            allowance.retry_after_s,
        )
