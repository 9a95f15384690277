"""The contract every connector found through entry points must keep."""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from metaregistry import plugins
from metaregistry.connector import (
    SLUG,
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    FatalSourceError,
    HttpStream,
    RawRecord,
)
from metaregistry.model import UnitBlock
from metaregistry.pipeline import UNIT_BLOCK_SCHEMA
from metaregistry.schemas import load_schema, validator
from metaregistry.settings import REFERENCE_COMMAND
from metaregistry.settings import reference as reference_of

NAMES = plugins.available()


def test_the_bundled_connectors_are_registered() -> None:
    assert {"generic", "verra", "gold-standard", "srn-ppi", "tccr", "jcm"} <= set(NAMES)


@pytest.fixture(params=NAMES)
def connector(request: pytest.FixtureRequest) -> Connector:
    return plugins.load(request.param)


def test_name_matches_entry_point_and_is_a_slug(connector: Connector) -> None:
    assert SLUG.match(connector.name)
    assert connector.name in NAMES
    assert all(SLUG.match(r) for r in connector.registries)


def test_raw_schema_ships_with_the_package(connector: Connector) -> None:
    if connector.raw_schema is not None:
        assert load_schema(connector.raw_schema)["type"] == "object"


def test_streams_are_http_streams_with_a_base_url(connector: Connector) -> None:
    streams = connector.streams(
        ConnectorConfig(name=connector.name, base_url="http://127.0.0.1:9", token="t")
    )
    for stream in streams:
        assert isinstance(stream, HttpStream)
        assert stream.mode in ("snapshot", "incremental")
        first = stream.first_request(None)
        assert first is None or first.url.startswith("http://127.0.0.1:9")


def test_options_are_declared_checked_and_documented(connector: Connector) -> None:
    """Options are a ConnectorOptions model: defaults alone are valid, an unknown key is
    refused with FatalSourceError naming it, and docs/SETTINGS.md (generated) lists them."""
    model = connector.options_model
    assert issubclass(model, ConnectorOptions)
    assert model.model_config.get("extra") == "forbid"
    config = ConnectorConfig(name=connector.name, base_url="http://127.0.0.1:9")
    assert isinstance(connector.options(config), model)
    bad = ConnectorConfig(name=connector.name, base_url="http://127.0.0.1:9", options={"x_y": 1})
    with pytest.raises(FatalSourceError, match=rf"connectors\.{connector.name}\.x_y"):
        connector.options(bad)
    reference = reference_of({connector.name: model})
    section = reference[reference.index(f"### `[connectors.{connector.name}]` options") :]
    docs = (Path(__file__).parents[2] / "docs" / "SETTINGS.md").read_text(encoding="utf-8")
    assert section in docs, f"docs/SETTINGS.md is stale: run {REFERENCE_COMMAND}"


def test_unknown_file_kind_fails_cleanly(connector: Connector, tmp_path: Path) -> None:
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01 this is no registry export")
    with pytest.raises((FatalSourceError, ValueError)):
        list(connector.read_file(odd))


def sample_of(connector: Connector) -> dict[str, Any]:
    """The connector's ``sample.json`` (beside its module): provenance and a few records."""
    path = Path(inspect.getfile(type(connector))).parent / "sample.json"
    assert path.is_file(), f"{connector.name} ships no sample.json beside {path.parent}"
    sample: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return sample


def check_normalize_is_pure(connector: Connector, sample: dict[str, Any]) -> None:
    """Each sample record passes its raw schema, normalizes to a block that passes the
    normalized schema, twice to equal blocks, and leaves its input as it was (compared with
    a deep copy taken before: a connector that edits or wipes its input fails)."""
    unit_block = validator(UNIT_BLOCK_SCHEMA)
    for number, item in enumerate(sample["records"], start=1):
        record = RawRecord(item["payload"], f"sample.json:{number}", item["stream"])
        before = copy.deepcopy(record.payload)
        schema = connector.raw_schema_for(record)
        if schema is not None:
            assert validator(schema).errors(record.payload) == [], (number, schema)
        first = connector.normalize(record)
        assert record.payload == before, f"record {number}: normalize changed its input"
        assert connector.normalize(record) == first, number
        assert unit_block.errors(first.content()) == [], (number, first)


def test_normalize_is_pure_on_the_connectors_own_sample(connector: Connector) -> None:
    sample = sample_of(connector)
    assert len(sample.get("provenance", "")) > 40, "say where the sample comes from"
    assert 1 <= len(sample["records"]) <= 20
    check_normalize_is_pure(connector, sample)


def test_the_purity_check_catches_a_connector_that_edits_its_input() -> None:
    verra = plugins.load("verra")

    class Wiping(type(verra)):  # type: ignore[misc]
        def normalize(self, record: RawRecord) -> UnitBlock:
            block = super().normalize(record)
            record.payload.clear()
            return block

    with pytest.raises(AssertionError, match="changed its input"):
        check_normalize_is_pure(Wiping(), sample_of(verra))


def test_unknown_connector_names_the_installed_ones() -> None:
    with pytest.raises(plugins.PluginError, match=r"installed: .*generic"):
        plugins.load("no-such-registry")
