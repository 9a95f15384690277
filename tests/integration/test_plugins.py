"""A third-party connector installed as its own distribution appears without core changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = """
from typing import ClassVar
from metaregistry.connector import Connector, RawRecord
from metaregistry.model import UnitBlock


class ExampleConnector(Connector):
    name: ClassVar[str] = "example-registry"
    registries: ClassVar[tuple[str, ...]] = ("example-registry",)
    description: ClassVar[str] = "a tiny third-party connector"

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        return UnitBlock(registry="example-registry", record_id=p["id"], serial=p["id"],
                         scheme="example", scope="", block_start=1, block_end=1, quantity=1,
                         status="issued")


connector = ExampleConnector()
"""


def test_third_party_connector_is_discovered(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "example_connector").mkdir(parents=True)
    (site / "example_connector" / "__init__.py").write_text(EXAMPLE)
    dist = site / "example_connector-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: example-connector\nVersion: 0.1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[metaregistry.connectors]\nexample-registry = example_connector:connector\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run(
        [sys.executable, "-m", "metaregistry", "connectors", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    )
    listed = {c["name"]: c for c in json.loads(out.stdout)}
    assert listed["example-registry"]["description"] == "a tiny third-party connector"
    assert "verra" in listed
