"""Several processes starting at once migrate the same fresh database without tripping."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from metaregistry.index.db import create_engine

SCRIPT = (
    "import sys; from metaregistry.index.db import create_engine, migrate; "
    "migrate(create_engine(sys.argv[1])); print('ok')"
)


def test_four_processes_migrate_one_database(db_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        heads = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        tables = set(sa.inspect(conn).get_table_names())
    assert len(heads) == 1
    assert {"unit_block", "unit_block_version", "log_leaves", "alert", "quarantine"} <= tables
    engine.dispose()


def test_upgrading_from_the_first_revision_keeps_the_data(db_url: str) -> None:
    from alembic import command

    from metaregistry.index import store
    from metaregistry.index.db import alembic_config, migrate

    engine = create_engine(db_url)
    config = alembic_config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_foundation")
        conn.commit()
    row = {
        "registry": "verra",
        "record_id": "r1",
        "version": 1,
        "serial": "S",
        "scheme": "vcs",
        "scope": "",
        "block_start": 1,
        "block_end": 9,
        "span_class": 4,
        "quantity": 9,
        "status": "issued",
        "observed_at": "2026-01-01T00:00:00.000000Z",
        "raw_hash": "0" * 64,
        "record_hash": "1" * 64,
        "connector": "verra",
    }
    with engine.begin() as conn:
        conn.execute(store.unit_block.insert().values(**row))
    migrate(engine)
    with engine.connect() as conn:
        block = store.get_block(conn, "verra", "r1")
        head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert block is not None and block.quantity == 9
    assert head != "0001_foundation"
    engine.dispose()
