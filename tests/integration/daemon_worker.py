"""A daemon process syncing the paged test source: ``daemon_worker.py DB_URL BASE_URL KEY``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from paged_source import PagedConnector

from metaregistry.daemon import Daemon
from metaregistry.index.db import create_engine, migrate
from metaregistry.settings import load_settings


async def main(db_url: str, base_url: str, key: str) -> None:
    settings = load_settings(
        None,
        environ={
            "METAREGISTRY_CONNECTORS__PAGED__BASE_URL": base_url,
            "METAREGISTRY_CONNECTORS__PAGED__SCHEDULE": "interval:1h",
            "METAREGISTRY_LOG__KEY_FILE": key,
        },
    )
    engine = create_engine(db_url)
    migrate(engine)
    daemon = Daemon(
        engine=engine,
        settings=settings,
        names=["paged"],
        connectors={"paged": PagedConnector("daemon")},
    )
    print("daemon ready", flush=True)
    await daemon.run(serve_api=False)
    for report in daemon.reports:
        print(f"report {report.connector} {report.outcome} pages={report.pages}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
