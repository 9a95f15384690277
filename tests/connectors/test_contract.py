"""The contract every connector found through entry points must keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaregistry import plugins
from metaregistry.connector import (
    SLUG,
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    FatalSourceError,
    HttpStream,
)
from metaregistry.schemas import load_schema
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


def test_normalize_is_pure(connector: Connector) -> None:
    # Normalizing the same raw record twice gives equal blocks and leaves the input untouched.
    from metaregistry.connector import RawRecord, RecordError

    payload = {"registry": "x", "record_id": "1", "serial": "bad", "status": "issued"}
    snapshot = dict(payload)
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(connector.normalize(RawRecord(dict(payload), "t:1")))
        except (RecordError, ValueError, KeyError, TypeError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]
    assert payload == snapshot


def test_unknown_connector_names_the_installed_ones() -> None:
    with pytest.raises(plugins.PluginError, match=r"installed: .*generic"):
        plugins.load("no-such-registry")
