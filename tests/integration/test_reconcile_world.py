"""Project-level reconciliation on generated worlds (issue 17): every planted re-numbered case
found with its kind (recall 1.0), nothing else raised by project (precision 1.0), the near
misses quiet; the serial-basis truth is scored by test_detect_world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.detect.alerts import AlertQuery, list_alerts, list_links
from metaregistry.ingest import chunked, store_page, utc_stamp
from metaregistry.mock.world import connector_of, generate_world, world_files, world_records
from metaregistry.reconcile.reader import mark_complete
from metaregistry.reconcile.run import reconcile_index


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_project_cases_precision_and_recall(engine: sa.Engine, tmp_path: Path, seed: int) -> None:
    out = tmp_path / "world"
    generate_world(seed, 3000, out)
    registries: set[str] = set()
    for relative in world_files(out):
        connector = plugins.load(connector_of(relative))
        for chunk in chunked(world_records(out, relative), 2000):
            with engine.begin() as conn:
                result = store_page(conn, connector, chunk, observed_at=utc_stamp())
            assert result.quarantined == []
            registries.update(v.block.registry for v in result.versions)
    with engine.begin() as conn:
        mark_complete(conn, registries, "import", "a generated world holds every record")
        reconcile_index(conn, project_map=out / "project_map.csv")
    truth = json.loads((out / "project_truth.json").read_text(encoding="utf-8"))["cases"]
    with engine.connect() as conn:
        alerts = list_alerts(conn, AlertQuery(basis=frozenset({"project"})))
        links = list_links(conn, basis=["project"])
    found_alerts = {(a["scope"], a["kind"]) for a in alerts}
    found_links = {(link["scope"], link["kind"]) for link in links}
    want_alerts = {(c["project_key"], c["kind"]) for c in truth if c["finding"] == "alert"}
    want_links = {(c["project_key"], c["kind"]) for c in truth if c["finding"] == "link"}
    quiet = {c["project_key"] for c in truth if c["finding"] is None}
    assert want_alerts and want_links and quiet
    assert found_alerts == want_alerts  # recall and precision 1.0 for alerts by project
    assert want_links <= found_links  # every planted move linked ...
    # ... and no link by project anywhere but the planted cases
    assert {scope for scope, _ in found_links} <= {c["project_key"] for c in truth}
    assert not quiet & {scope for scope, _ in found_alerts | found_links}
