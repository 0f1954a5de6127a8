"""What the workers of one shop share, so nothing that matters lives in one process.

Agents' presence (`presence`), background jobs and their guards (`jobs`), and the announcements that make
every worker load a new model or a new catalogue item (`announcements`). Each works the same with one
process (in-process bus, SQLite) and with several workers (Redis, PostgreSQL).
"""

from __future__ import annotations

import os
import socket
import uuid


def new_worker_id() -> str:
    """A name for one worker (one runtime): shown on its jobs, and lets it skip its own announcements."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
