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
