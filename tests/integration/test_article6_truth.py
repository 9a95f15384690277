"""Done criterion of issue 19's checks: on generated worlds of several seeds, read in through
the connectors, the Article 6 checks find exactly the planted findings (precision and recall
1.0, ``article6_truth.json``), stored as alerts; the near misses stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.article6.checks import run_checks
from metaregistry.article6.prepare import prepare_authorizations
from metaregistry.article6.store import upsert_authorizations
from metaregistry.detect.alerts import AlertQuery, list_alerts
from metaregistry.index import store
from metaregistry.mock.world import connector_of, generate_world, world_files, world_records
from metaregistry.pipeline import prepare_page

STAMP = "2026-12-05T00:00:00.000000Z"
AUTHORIZATIONS = (
    ("tccr", "tccr/authorizations.ndjson"),
    ("srn-ppi", "srn-ppi/otorisasi.ndjson"),
    ("jcm", "jcm/a6/authorizations.ndjson"),
)


def _load(engine: sa.Engine, world: Path) -> None:
    for file in world_files(world):
        connector = plugins.load(connector_of(file))
        page = prepare_page(connector, list(world_records(world, file)), STAMP)
        assert page.quarantined == []
        with engine.begin() as conn:
            store.upsert_blocks(conn, page.blocks, connector=connector.name)
    for name, file in AUTHORIZATIONS:
        connector = plugins.load(name)
        prepared = prepare_authorizations(connector, list(connector.read_file(world / file)), STAMP)
        assert prepared.quarantined == []
        with engine.begin() as conn:
            upsert_authorizations(conn, prepared.authorizations, connector=name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_checks_find_exactly_the_planted_findings(
    engine: sa.Engine, tmp_path: Path, seed: int
) -> None:
    world = tmp_path / "world"
    generate_world(seed, 2000, world)
    _load(engine, world)
    truth = json.loads((world / "article6_truth.json").read_text(encoding="utf-8"))
    caps = {p: {int(y): c for y, c in years.items()} for p, years in truth["export_caps"].items()}
    with engine.begin() as conn:
        report = run_checks(conn, caps)
    found = {(d.rules[0].removeprefix("article6:"), d.scope) for d in report.drafts}
    planted = {(rule, subject) for rule, subject in truth["findings"]}
    true_positives = found & planted
    precision = len(true_positives) / len(found)
    recall = len(true_positives) / len(planted)
    assert (precision, recall) == (1.0, 1.0), (sorted(found - planted), sorted(planted - found))
    # every rule of the table has a planted finding, and every near miss stays quiet
    assert {rule for rule, _ in planted} == {
        "loa-quantity",
        "export-cap",
        "no-loa",
        "ca-not-applied",
        "jcm-both-parties",
        "loack-transferred",
        "paid-results-transferred",
    }
    quiet = {subject for _, subject in truth["near_misses"]}
    assert len(quiet) == 4 and not quiet & {subject for _, subject in found}
    # stored as alerts in the lifecycle, one per finding
    with engine.connect() as conn:
        alerts = list_alerts(conn, AlertQuery(status=frozenset({"open"})))
    article6 = [a for a in alerts if a["basis"] == "article6"]
    assert len(article6) == len(planted)
