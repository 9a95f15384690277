"""``metaregistry sync paged`` as a process, the paged test connector standing in for an
installed one: ``sync_worker.py CONFIG``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from paged_source import PagedConnector

from metaregistry import plugins
from metaregistry.cli import main

_load = plugins.load


def _paged_or_installed(name: str) -> object:
    return PagedConnector("sync-cli") if name == "paged" else _load(name)


plugins.load = _paged_or_installed  # type: ignore[assignment]

if __name__ == "__main__":
    main(["--config", sys.argv[1], "sync", "paged", "--no-detect"], prog_name="metaregistry")
