"""Database engines and migrations.

One engine per role per process: the writer (sync, detection, log) and a read-only one for the
API. SQLite is the embedded default (``metaregistry.db`` in the working directory); a
``postgresql`` URL selects PostgreSQL (psycopg 3).

SQLite runs in WAL mode so readers never block the writer, and every write transaction begins
``IMMEDIATE``: the write lock is taken up front, which serializes writers across processes
(log appends need one linear history) instead of failing late with "database is locked".
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

__all__ = [
    "DEFAULT_URL",
    "create_engine",
    "is_postgres",
    "is_sqlite",
    "migrate",
    "normalize_url",
    "refresh_statistics",
]

DEFAULT_URL = "sqlite:///metaregistry.db"
_MIGRATION_LOCK_ID = 0x6D657472_6567  # pg_advisory_lock key: "metreg"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


#: Tables that grow with every write path, analyzed together after a large write.
GROWING_TABLES = (
    "unit_block",
    "unit_block_version",
    "raw_record",
    "log_leaves",
    "log_leaf_hashes",
    "log_nodes",
)


def refresh_statistics(
    engine: Engine, written: int, *, min_rows: int = 10_000, fraction: float = 0.1
) -> list[str]:
    """After ``written`` new versions, ANALYZE the growing tables on PostgreSQL when that is
    at least ``min_rows`` and at least ``fraction`` of what the statistics last counted
    (or the tables were never analyzed); returns the tables analyzed.

    The planner needs row counts: after a first import of a million records, with
    statistics that still say "empty", PostgreSQL aggregated a whole scope where an index
    probe would do (a lookup's span classes: 302 ms instead of 0.1 ms) until autovacuum
    came round, which it may never do (``autovacuum = off``) or only minutes later. A sync
    that adds a small share of the index leaves it to autovacuum. SQLite: nothing to do
    (its queries here are planned from the indexes alone)."""
    if not is_postgres(engine) or written < min_rows:
        return []
    with engine.connect() as conn:
        counted = conn.exec_driver_sql(
            "SELECT c.relname, c.reltuples FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relname = 'unit_block_version'"
        ).first()
    if counted is not None and counted[1] > 0 and written < fraction * counted[1]:
        return []
    analyzed = []
    with engine.begin() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table in GROWING_TABLES:
            if table in present:
                conn.exec_driver_sql(f'ANALYZE "{table}"')
                analyzed.append(table)
    return analyzed


def create_engine(url: str = DEFAULT_URL, *, readonly: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``. ``readonly`` gives the API's engine: SQLite opened read-only,
    PostgreSQL sessions with ``default_transaction_read_only`` and REPEATABLE READ, so that
    every statement of a read transaction sees the same snapshot, as on SQLite (PostgreSQL's
    default, READ COMMITTED, gives each statement its own; a read-only transaction never
    fails to serialize, so this costs nothing)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, readonly=readonly, **kwargs)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if readonly:
        connect_args["options"] = (
            "-c default_transaction_read_only=on"
            r" -c default_transaction_isolation=repeatable\ read"
        )
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, connect_args=connect_args, **kwargs)


def _sqlite_engine(url: str, *, readonly: bool, **kwargs: Any) -> Engine:
    parsed = sa.engine.make_url(url)
    database = parsed.database or ""
    memory = database in ("", ":memory:")
    if readonly and not memory:
        path = Path(database).resolve()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 60}
    if readonly:
        # The API's statements: one overlap query per number of span classes, IN lists
        # padded to powers of two, the areas' readers. The driver's default of 128 cached
        # statements was close enough to overflow, and a statement compiled again costs
        # more than the lookup's queries.
        connect_args["cached_statements"] = 512
    if not memory:
        kwargs.setdefault("poolclass", NullPool) if readonly else None
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, run BEGIN (so it can be IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not readonly and not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. Safe when several processes start at once:
    PostgreSQL takes an advisory lock, SQLite a lock file beside the database."""
    with _migration_lock(engine):
        from alembic import command

        config = alembic_config(engine)
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if conn.in_transaction():
                conn.commit()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if is_postgres(engine):
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK_ID})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK_ID})")
                conn.commit()
        return
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        yield
        return
    lock_path = Path(database).with_suffix(Path(database).suffix + ".migrate-lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
