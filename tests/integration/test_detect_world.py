"""Detection on a generated world: every planted double-counting case found with the right
kind over its overlap (recall 1.0), no other alert (precision 1.0), none of the planted
legitimate patterns flagged, partial overlaps included.

The world's files go through the connectors and the pipeline as ``metaregistry import`` sends
them; detection runs incrementally after each file, the way it runs after each sync.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.detect.alerts import list_alerts, list_links
from metaregistry.detect.engine import detect_full, detect_incremental
from metaregistry.ingest import chunked, max_version_id, store_page, utc_stamp
from metaregistry.mock.world import connector_of, generate_world, world_files, world_records

KIND = {
    "double-issuance": "double_issuance",
    "double-use": "double_use",
    "use-after-transfer": "use_after_transfer",
    "quantity-mismatch": "quantity_mismatch",
    "internal-overlap": "internal_overlap",
}


def _import_detecting(engine: sa.Engine, out: Path) -> None:
    for relative in world_files(out):
        connector = plugins.load(connector_of(relative))
        with engine.connect() as conn:
            since = max_version_id(conn)
        for chunk in chunked(world_records(out, relative), 2000):
            with engine.begin() as conn:
                result = store_page(conn, connector, chunk, observed_at=utc_stamp())
            assert result.quarantined == []
        with engine.begin() as conn:
            detect_incremental(conn, since)


def _registries(alert: dict[str, Any]) -> list[str]:
    return sorted({alert["registry_a"], alert["registry_b"]})


def _covers(alert: dict[str, Any], overlap: dict[str, Any]) -> bool:
    return (
        (alert["scheme"], alert["scope"]) == (overlap["scheme"], overlap["scope"])
        and alert["overlap_start"] <= overlap["start"]
        and alert["overlap_end"] >= overlap["end"]
    )


def _meets(alert: dict[str, Any], overlap: dict[str, Any]) -> bool:
    return (
        (alert["scheme"], alert["scope"]) == (overlap["scheme"], overlap["scope"])
        and alert["overlap_start"] <= overlap["end"]
        and alert["overlap_end"] >= overlap["start"]
    )


@pytest.mark.parametrize("seed", [2, 3])
def test_recall_and_precision_on_a_generated_world(
    engine: sa.Engine, tmp_path: Path, seed: int
) -> None:
    out = tmp_path / "world"
    generate_world(seed, 3000, out)
    cases = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    if isinstance(cases, dict):
        cases = cases["cases"]
    _import_detecting(engine, out)
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["status"] != "resolved"]
        links = list_links(conn)

    planted = [c for c in cases if not c["legitimate"]]
    assert {c["pattern"] for c in planted} == set(KIND)
    assert any("partial" in c["note"] for c in planted)
    found = [
        c
        for c in planted
        if any(
            a["kind"] == KIND[c["pattern"]]
            and _covers(a, c["overlap"])
            and _registries(a) == sorted({b["registry"] for b in c["blocks"]})
            for a in alerts
        )
    ]
    matching = [
        a
        for a in alerts
        if any(a["kind"] == KIND[c["pattern"]] and _meets(a, c["overlap"]) for c in planted)
    ]
    assert len(found) / len(planted) == 1.0, [c["note"] for c in planted if c not in found]
    assert len(matching) / len(alerts) == 1.0, [a["explanation"] for a in alerts]

    # Every legitimate case is recorded as links, of the kind its pattern names.
    link_kinds = {
        "conversion": "conversion",
        "transition": "transition",
        "jcm-mirror": "mirror",
        "tokenization": "tokenization",
        "compliance-move": "compliance_move",
    }
    legitimate = [c for c in cases if c["legitimate"]]
    for case in legitimate:
        overlap = case["overlap"]
        kinds = {
            link["kind"]
            for link in links
            if (link["scheme"], link["scope"]) == (overlap["scheme"], overlap["scope"])
            and link["overlap_start"] <= overlap["end"]
            and link["overlap_end"] >= overlap["start"]
        }
        assert kinds == {link_kinds[case["pattern"]]}, case["note"]
    assert Counter(link["kind"] for link in links).keys() == set(link_kinds.values())

    # The incremental runs left nothing for a full run to change.
    full = detect_full(engine)
    assert (full.alerts_opened, full.alerts_updated, full.alerts_resolved) == (0, 0, 0)
