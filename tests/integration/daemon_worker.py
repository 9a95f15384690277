"""A daemon process syncing the paged test source, the way ``metaregistry daemon`` runs it:
``daemon_worker.py DB_URL BASE_URL KEY [--schedule S] [--no-initial-run] [--webhook URL]
[--streams N]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from paged_source import PagedConnector

from metaregistry.daemon import Daemon
from metaregistry.index.db import create_engine, migrate
from metaregistry.settings import load_settings


async def main(args: argparse.Namespace) -> None:
    lines = [
        f'[log]\nkey_file = "{args.key}"\n',
        f'[connectors.paged]\nbase_url = "{args.base_url}"\nschedule = "{args.schedule}"\n',
    ]
    if args.webhook:
        lines.append(f'[[webhooks]]\nurl = "{args.webhook}"\nsecret = "s"\nstart = "earliest"\n')
    config = Path(args.key).parent / "daemon.toml"
    config.write_text("".join(lines))
    settings = load_settings(config, environ={})
    engine = create_engine(args.db_url)
    migrate(engine)
    daemon = Daemon(
        engine=engine,
        settings=settings,
        names=["paged"],
        connectors={"paged": PagedConnector("daemon", args.streams)},
    )
    print("daemon ready", flush=True)
    await daemon.run(serve_api=False, run_now=not args.no_initial_run)
    for report in daemon.reports:
        print(f"report {report.connector} {report.outcome} pages={report.pages}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("base_url")
    parser.add_argument("key")
    parser.add_argument("--schedule", default="interval:1h")
    parser.add_argument("--no-initial-run", action="store_true")
    parser.add_argument("--webhook")
    parser.add_argument("--streams", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
