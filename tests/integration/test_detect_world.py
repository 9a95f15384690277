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

#: The double-counting patterns; each case of them names the alert kind it must raise (the
#: pattern's own, or for issue 23's flipped links the kind their states say).
ILLEGITIMATE = {
    "double-issuance",
    "double-use",
    "use-after-transfer",
    "quantity-mismatch",
    "internal-overlap",
    "flipped-source",
    "flipped-target",
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


@pytest.mark.parametrize(
    ("seed", "records", "cases"),
    [(2, 3000, None), (3, 3000, None), (4242, 6000, 10), (987, 6000, 10), (52817, 6000, 10)],
)
def test_recall_and_precision_on_a_generated_world(
    engine: sa.Engine, tmp_path: Path, seed: int, records: int, cases: int | None
) -> None:
    """Default worlds, and worlds with ten cases a pattern: every variant of every pattern,
    exact and partial, issue 23's flipped links and near misses included."""
    out = tmp_path / "world"
    generate_world(seed, records, out, cases=cases)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))["cases"]
    _import_detecting(engine, out)
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["status"] != "resolved"]
        links = list_links(conn)

    planted = [c for c in truth if not c["legitimate"]]
    assert {c["pattern"] for c in planted} == ILLEGITIMATE
    assert any("partial" in c["note"] for c in planted)
    found = [
        c
        for c in planted
        if any(
            a["kind"] == c["kind"]
            and a["severity"] == (c["severity"] or a["severity"])
            and _covers(a, c["overlap"])
            and _registries(a) == sorted({b["registry"] for b in c["blocks"]})
            for a in alerts
        )
    ]
    matching = [
        a
        for a in alerts
        if any(a["kind"] == c["kind"] and _meets(a, c["overlap"]) for c in planted)
    ]
    assert len(found) / len(planted) == 1.0, [c["note"] for c in planted if c not in found]
    assert len(matching) / len(alerts) == 1.0, [a["explanation"] for a in alerts]

    # Every legitimate case is recorded as links, of the kind its case names.
    legitimate = [c for c in truth if c["legitimate"]]
    for case in legitimate:
        overlap = case["overlap"]
        kinds = {
            link["kind"]
            for link in links
            if (link["scheme"], link["scope"]) == (overlap["scheme"], overlap["scope"])
            and link["overlap_start"] <= overlap["end"]
            and link["overlap_end"] >= overlap["start"]
        }
        assert kinds == {case["kind"]}, case["note"]
    assert Counter(link["kind"] for link in links).keys() == {c["kind"] for c in legitimate}
    assert {c["kind"] for c in legitimate} == {
        "conversion",
        "transition",
        "mirror",
        "tokenization",
        "compliance_move",
    }
    # a pending adjustment inside its window is a low note, never a critical double claim
    assert any(c["severity"] == "low" for c in planted)
    # the seeded contradictions are alerts of more than one kind
    assert {c["kind"] for c in planted if c["pattern"].startswith("flipped")} >= {
        "double_issuance",
        "use_after_transfer",
    }

    # The incremental runs left nothing for a full run to change.
    full = detect_full(engine)
    assert (full.alerts_opened, full.alerts_updated, full.alerts_resolved) == (0, 0, 0)
