"""The retry policy of the workers' Redis clients (bus publishing, presence): survive a Redis restart."""

from __future__ import annotations


def fresh_connection_retry():
    """Retries for a Redis client whose pooled connection may be dead (Redis restarted since it was opened):
    the command goes out again on a new connection, a few times within about half a second, so a restart
    costs nothing while a Redis that stays down still fails fast. (A client made with `from_url` retries
    nothing by default: the first command on each stale connection failed.)"""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    return Retry(ExponentialBackoff(cap=0.25, base=0.02), 3)
