"""Engines and sessions for the SQL store (SQLite by default, PostgreSQL by URL), and schema upgrades."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

from assistant.config import REPO_ROOT


def _sync_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _async_url(url: str) -> str:
    url = _sync_url(url)
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; busy_timeout waits instead of failing on a lock
    cur.execute("PRAGMA journal_mode=WAL")
    # in WAL mode NORMAL stays consistent and loses nothing on a process crash (only on power loss);
    # a shop that needs power-loss durability runs PostgreSQL
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # a deleted or moved row's bytes are zeroed, not left in free space of the file (erasure, retention)
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":memory:" not in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    _ensure_sqlite_dir(url)
    engine = create_engine(_sync_url(url), pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10,
                      ping_idle_s: float = 1.0) -> AsyncEngine:
    """The server's engine: a pool of `pool_size` connections kept open (a busy moment opens up to
    `max_overflow` more, closed again on return), and a connection pinged before use only when it sat in
    the pool `ping_idle_s` or longer (`_ping_if_idle`)."""
    _ensure_sqlite_dir(url)
    url = _async_url(url)
    sizes = {} if url.startswith("sqlite") else {"pool_size": pool_size, "max_overflow": max_overflow}
    engine = create_async_engine(url, **sizes)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    _ping_if_idle(engine.sync_engine, ping_idle_s)
    return engine


def _ping_if_idle(engine: Engine, idle_s: float) -> None:
    """A pre-ping for connections that were idle, not for every checkout.

    A ping on each checkout cost a round trip per unit of work (8 a chat turn); under load the pool hands each
    connection out again within milliseconds, so none is pinged. A connection the database dropped while it sat
    idle (a restart) is found by the ping and replaced before anyone uses it: the pool hands out the longest idle
    connection first, and the background sweeps touch each one only every few seconds. One lost while in use
    fails its statement, the pool then replaces every older connection, and callers retry (the chat socket
    handles a message frame once more, the answer sweep claims the message again).
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as e:
            if not engine.dialect.is_disconnect(e, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection was lost while idle")  # the pool opens a new one


def autocommit_sessions(sessions: async_sessionmaker) -> async_sessionmaker:
    """Sessions on the same engine whose statements commit one by one: for reads and single-statement writes.

    Such a statement is one round trip; in a transaction it is three (BEGIN, the statement, COMMIT, or the
    ROLLBACK that closes a read-only session).
    """
    engine: AsyncEngine = sessions.kw["bind"]
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


async def flush_deleted(sessions: async_sessionmaker) -> bool:
    """After rows were erased: SQLite copies its write-ahead log into the database file and empties it, so no
    older version of an erased page stays in the log (the file's own copies are zeroed by secure_delete).
    False when readers kept the log from being emptied. PostgreSQL reclaims deleted rows by (auto)vacuum."""
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        busy, _, _ = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    return not busy


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade_schema(url: str) -> None:
    """Bring the database to the newest alembic revision (the only way the schema changes)."""
    _ensure_sqlite_dir(url)
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", _sync_url(url).replace("%", "%%"))  # configparser escaping
    command.upgrade(cfg, "head")
