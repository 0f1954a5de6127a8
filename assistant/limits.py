"""Abuse limits: token buckets and a growing back-off, in-process by default, in Redis when workers share them.

A token bucket holds `burst` tokens and refills at `per_minute`; each request takes one, and an empty
bucket answers how long until the next token. The back-off counts failures (wrong passwords): after
`free` of them each further one doubles the wait, up to `max_s`, and a quiet spell of twice `max_s` (or
a success) forgives them. With `SHOPASSIST_REDIS_URL` set, each
decision is one Lua script on the Redis clock, atomic across every worker; while Redis is unreachable,
each worker decides with its own in-process buckets (the limits still hold per worker, and a shopper's
message is never refused because the limiter's store is down).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from assistant.config import RateLimit, Settings

# what an unreachable Redis raises; anything else (a script error) is a bug and propagates
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Refused by a limit; `retry_after_s` says when the same request would be accepted."""

    def __init__(self, what: str, retry_after_s: float) -> None:
        super().__init__(f"too many {what}; retry in {retry_after_s:.1f} s")
        self.what = what
        self.retry_after_s = retry_after_s

    @property
    def retry_after_ms(self) -> int:
        return max(1, math.ceil(self.retry_after_s * 1000))

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


@dataclass(frozen=True)
class Backoff:
    """The growing wait after repeated failures: `free` failures cost nothing, then base_s * 2^n, at most max_s."""

    free: int
    base_s: float
    max_s: float

    def wait_after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** min(failures - self.free, 60))


class Limiter(Protocol):
    async def take(self, key: str, limit: RateLimit) -> float:
        """Take one token; 0.0 when allowed, else the seconds until one is there (nothing is taken)."""

    async def backoff_wait(self, key: str, backoff: Backoff) -> float:
        """Seconds still to wait before the next try (0.0 when a try is allowed now)."""

    async def backoff_failed(self, key: str, backoff: Backoff) -> float:
        """Count one failure; returns the wait it imposes."""

    async def backoff_failures(self, key: str, backoff: Backoff) -> int:
        """The failures counted now (0 once forgiven)."""

    async def backoff_clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


async def enforce(limiter: Limiter, what: str, key: str, limit: RateLimit) -> None:
    """Take a token from `key`'s bucket or raise RateLimited."""
    wait = await limiter.take(key, limit)
    if wait > 0:
        raise RateLimited(what, wait)


class LoginThrottle:
    """Sign-in limits: attempts per client address (a bucket); wrong passwords back off per account and
    address (one attacker cannot lock out the owner elsewhere) and, later, per account from everywhere."""

    def __init__(self, limiter: Limiter, settings: Settings) -> None:
        self._limiter = limiter
        self._per_address = settings.login_rate_per_address
        pair = Backoff(settings.login_free_failures, settings.login_backoff_base_s, settings.login_backoff_max_s)
        account = Backoff(settings.login_free_failures_per_account, settings.login_backoff_base_s,
                          settings.login_backoff_max_s)
        self._backoffs = ((pair, "login:pair:{email}|{address}"), (account, "login:account:{email}"))

    def _keyed(self, email: str, address: str) -> list[tuple[str, Backoff]]:
        return [(key.format(email=email, address=address), backoff) for backoff, key in self._backoffs]

    async def check(self, email: str, address: str) -> None:
        """Raise RateLimited when this sign-in must wait; nothing about the password is looked at yet.

        The per-account back-off spares an address with no wrong password for the account: the owner
        signing in from their own address is never locked out by guesses made elsewhere."""
        (pair_key, pair), (account_key, account) = self._keyed(email, address)
        wait = await self._limiter.backoff_wait(pair_key, pair)
        if wait == 0 and await self._limiter.backoff_failures(pair_key, pair) > 0:
            wait = await self._limiter.backoff_wait(account_key, account)
        if wait > 0:
            raise RateLimited("wrong passwords", wait)
        await enforce(self._limiter, "sign-in attempts", f"login:address:{address}", self._per_address)

    async def failed(self, email: str, address: str) -> None:
        for key, backoff in self._keyed(email, address):
            await self._limiter.backoff_failed(key, backoff)

    async def succeeded(self, email: str, address: str) -> None:
        for key, _ in self._keyed(email, address):
            await self._limiter.backoff_clear(key)


class InProcessLimiter:
    """Buckets in this process's memory (one worker); the oldest keys are dropped past `max_keys`."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (failures, last at)

    def _remember(self, table: OrderedDict, key: str, value: tuple) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._max_keys:
            table.popitem(last=False)  # a forgotten bucket is a full one: never stricter than the rule

    async def take(self, key: str, limit: RateLimit) -> float:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (float(limit.burst), now))
        rate = limit.per_minute / 60
        tokens = min(float(limit.burst), tokens + (now - at) * rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
        self._remember(self._buckets, key, (tokens - 1 if wait == 0 else tokens, now))
        return wait

    def _failures_now(self, key: str, backoff: Backoff, now: float) -> tuple[int, float]:
        failures, at = self._failures.get(key, (0, now))
        return (0, now) if now - at > 2 * backoff.max_s else (failures, at)

    async def backoff_wait(self, key: str, backoff: Backoff) -> float:
        now = time.monotonic()
        failures, at = self._failures_now(key, backoff, now)
        return max(0.0, at + backoff.wait_after(failures) - now)

    async def backoff_failed(self, key: str, backoff: Backoff) -> float:
        now = time.monotonic()
        failures, _ = self._failures_now(key, backoff, now)
        self._remember(self._failures, key, (failures + 1, now))
        return backoff.wait_after(failures + 1)

    async def backoff_failures(self, key: str, backoff: Backoff) -> int:
        return self._failures_now(key, backoff, time.monotonic())[0]

    async def backoff_clear(self, key: str) -> None:
        self._failures.pop(key, None)

    async def close(self) -> None:
        pass


# KEYS[1] bucket; ARGV burst, tokens per second. Returns the wait as a string (Lua numbers lose fractions).
_TAKE_LUA = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = math.min(burst, (tonumber(s[1]) or burst) + math.max(0, now - (tonumber(s[2]) or now)) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

# KEYS[1] failures; ARGV op ('wait', 'fail' or 'count'), free, base_s, max_s. Returns the wait (or count)
# as a string.
_BACKOFF_LUA = """
local free, base, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'n', 'at')
local n, at = tonumber(s[1]) or 0, tonumber(s[2]) or now
if now - at > 2 * cap then n, at = 0, now end
local function wait_after(k)
  if k < free then return 0 end
  return math.min(cap, base * 2 ^ math.min(k - free, 60))
end
if ARGV[1] == 'count' then return tostring(n) end
if ARGV[1] == 'fail' then
  n = n + 1
  redis.call('HSET', KEYS[1], 'n', n, 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(2 * cap * 1000) + 1000)
  return tostring(wait_after(n))
end
return tostring(math.max(0, at + wait_after(n) - now))
"""


class RedisLimiter:
    """The same buckets and back-offs in Redis, shared by every worker (each decision one atomic script).

    A Redis failure falls back to this worker's in-process limiter for that decision: no retries and short
    timeouts, so an outage costs each request a failed round trip, not a stall."""

    _WARN_EVERY_S = 30.0

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._redis = redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=1.0,
                                     socket_connect_timeout=1.0)
        self._prefix = prefix
        self._take = self._redis.register_script(_TAKE_LUA)
        self._backoff = self._redis.register_script(_BACKOFF_LUA)
        self._local = InProcessLimiter()
        self._warned_at = float("-inf")

    def _unreachable(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self._WARN_EVERY_S:
            self._warned_at = now
            log.warning("Redis limiter unreachable (%s); deciding with this worker's own buckets", error)

    async def take(self, key: str, limit: RateLimit) -> float:
        try:
            return float(await self._take(keys=[self._prefix + "bucket:" + key],
                                          args=[limit.burst, limit.per_minute / 60]))
        except _REDIS_DOWN as e:
            self._unreachable(e)
            return await self._local.take(key, limit)

    async def _run_backoff(self, op: str, key: str, backoff: Backoff) -> float:
        try:
            return float(await self._backoff(keys=[self._prefix + "backoff:" + key],
                                             args=[op, backoff.free, backoff.base_s, backoff.max_s]))
        except _REDIS_DOWN as e:
            self._unreachable(e)
            local = {"wait": self._local.backoff_wait, "fail": self._local.backoff_failed,
                     "count": self._local.backoff_failures}[op]
            return float(await local(key, backoff))

    async def backoff_wait(self, key: str, backoff: Backoff) -> float:
        return await self._run_backoff("wait", key, backoff)

    async def backoff_failed(self, key: str, backoff: Backoff) -> float:
        return await self._run_backoff("fail", key, backoff)

    async def backoff_failures(self, key: str, backoff: Backoff) -> int:
        return int(await self._run_backoff("count", key, backoff))

    async def backoff_clear(self, key: str) -> None:
        await self._local.backoff_clear(key)
        try:
            await self._redis.delete(self._prefix + "backoff:" + key)
        except _REDIS_DOWN as e:
            self._unreachable(e)

    async def close(self) -> None:
        await self._redis.aclose()


def make_limiter(settings: Settings) -> Limiter:
    if settings.redis_url:
        return RedisLimiter(settings.redis_url, settings.redis_prefix + "limits:")
    return InProcessLimiter()
