"""A running server's start-up heap (models, libraries) is frozen out of Python's full garbage collections.

On the old main every full collection walked the ~640,000 objects of a loaded worker with the GIL held,
0.5-1.3 s in which no turn moved (`bench/scaleout_load.py`: the p99 of 100 shoppers). The figure is in
BENCHMARKS.md ("Load on several workers"); here: the server says how many objects it froze.
"""

from __future__ import annotations

import re

import httpx


def test_the_server_freezes_its_start_up_heap(sqlite_server):
    text = httpx.get(f"{sqlite_server.url}/metrics", timeout=30).text
    frozen = re.search(r"^shopassist_gc_frozen_objects (\S+)$", text, re.M)
    assert frozen is not None and float(frozen[1]) > 100_000
