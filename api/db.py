"""Engine, sessions and schema migrations.

SQLite is tuned for a web server: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` so that
concurrent writers queue for the lock instead of failing on a stale snapshot. Statement
parameters (workers' names, addresses, ID numbers) are never part of an error's text
(``hide_parameters``), so no log carries them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60},
                               pool_size=20, max_overflow=40, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True, hide_parameters=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (the latest by default)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return cast(CursorResult[Any], result).rowcount



def commit_or_409(session: Session, clash: str) -> None:
    """Commit; when a unique constraint says another request stored the same thing at the same
    moment, roll back and answer 409 with ``clash`` (nothing of this request is stored)."""
    from sqlalchemy.exc import IntegrityError  # noqa: PLC0415

    from .errors import ApiError  # noqa: PLC0415

    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, clash) from None
