"""Shared fixtures.

The database backend of the run is chosen by ``METAREGISTRY_TEST_DB`` (``sqlite``, the
default, or ``postgresql``); ``.ci/run`` runs the suite once with each. Under ``CI=true`` a
test that needs PostgreSQL or ``../shared/data/real`` fails when it is missing instead of
skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaregistry.feed.testing import ManualClock

REPO = Path(__file__).resolve().parents[1]
#: The real registry exports: ``METAREGISTRY_REAL_DATA`` when set, else ../shared/data/real
#: beside the checkout (skipped when missing, a failure under CI=true).
REAL_DATA = Path(
    os.environ.get("METAREGISTRY_REAL_DATA") or REPO.parent / "shared" / "data" / "real"
)
PG_ADMIN_URL = os.environ.get(
    "METAREGISTRY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is missing")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real registry exports, read in place (never copied into the repository)."""
    if not (REAL_DATA / "PROVENANCE.md").is_file():
        _missing(f"real registry data at {REAL_DATA}")
    return REAL_DATA


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[sa.Engine]:
    if not _pg_available():
        _missing(f"PostgreSQL at {PG_ADMIN_URL}")
    engine = sa.create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: sa.Engine) -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped after the test."""
    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = pg_admin_engine.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with pg_admin_engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metaregistry.db'}"


def backend_name() -> str:
    return os.environ.get("METAREGISTRY_TEST_DB", "sqlite")


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of the run's backend (see the module docstring)."""
    if backend_name() == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'metaregistry.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """A migrated writer engine on a fresh database of the run's backend."""
    from metaregistry.index.db import create_engine, migrate

    eng = create_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The webhook outbox's clock, moved by hand: retries and leases come due without
    sleeping."""
    from metaregistry.feed import outbox

    fake = ManualClock()
    monkeypatch.setattr(outbox, "utcnow", lambda: fake.now)
    return fake
