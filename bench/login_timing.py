"""Login timing: what a wrong password costs against what an unknown e-mail costs (they should match).

Runs the server's own password check (`assistant.security.check_password`, argon2 in a worker thread) the
same number of times for an existing account with a wrong password and for an unknown account (checked
against the dummy hash), interleaved, and prints the median and p90 of each in milliseconds.

    .venv/bin/python bench/login_timing.py --rounds 40
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from assistant.security import check_password, hash_password, warm_dummy_password_hash


async def timed(password_hash: str | None) -> float:
    started = time.perf_counter()
    assert not await check_password(password_hash, "a wrong guess")
    return (time.perf_counter() - started) * 1000


async def main(rounds: int) -> None:
    real = hash_password("the agent's real password")
    warm_dummy_password_hash()
    wrong, unknown = [], []
    for _ in range(rounds):
        wrong.append(await timed(real))
        unknown.append(await timed(None))
    for name, values in (("wrong password", wrong), ("unknown e-mail", unknown)):
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<15} median={statistics.median(values):.1f} ms p90={p90:.1f} ms (n={len(values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args().rounds))
