"""Settings: TOML file, environment overrides, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metaregistry import plugins
from metaregistry.cli import main
from metaregistry.settings import (
    REFERENCE_COMMAND,
    ApiSettings,
    ConfigError,
    ConnectorSettings,
    FeedSettings,
    LogSettings,
    WebhookSettings,
    load_settings,
    mask_secrets,
    settings_from,
)
from metaregistry_connectors.jcm.connector import JcmOptions
from metaregistry_connectors.srn_ppi.connector import SrnPpiOptions

TOML = """
database_url = "sqlite:///from-file.db"

[api]
port = 9000

[connectors.srn-ppi]
base_url = "http://srn.example/api"
token = "file-token"
schedule = "interval:30m"
timeout = 60
"""


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "metaregistry.toml"
    config.write_text(TOML)
    settings = load_settings(
        config,
        environ={
            "METAREGISTRY_DATABASE_URL": "postgresql://u:p@db/x",
            "METAREGISTRY_CONNECTORS__SRN_PPI__TOKEN": "env-token",
            "METAREGISTRY_CONNECTORS__GOLD_STANDARD__BASE_URL": "http://gs",
            "METAREGISTRY_API__RATE_LIMIT": "0",
        },
    )
    assert settings.database_url == "postgresql://u:p@db/x"
    srn = settings.connector("srn-ppi")
    assert (srn.base_url, srn.token, srn.schedule) == (
        "http://srn.example/api",
        "env-token",
        "interval:30m",
    )
    assert srn.timeout == 60
    assert settings.connector("gold-standard").base_url == "http://gs"
    assert settings.api.port == 9000
    assert settings.api.rate_limit == 0
    assert settings.source == config


def test_environment_values_are_typed_by_the_model(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        environ={
            "METAREGISTRY_CONNECTORS__SRN_PPI__PAGE_SIZE": "40",
            "METAREGISTRY_CONNECTORS__JCM__LEDGERS": '["japan"]',
            "METAREGISTRY_CONNECTORS__JCM__BASE_URL": "http://jcm.test",
            "METAREGISTRY_API__CORS_ORIGINS": "https://a.example, https://b.example",
            "METAREGISTRY_FEED__STREAM_POLL": "0.5",
            "METAREGISTRY_TEST_DB": "postgresql",  # not a setting: the test suite's own
        },
    )
    assert settings.connector("srn-ppi").options == SrnPpiOptions(page_size=40)
    jcm = settings.connector("jcm")
    assert jcm.options == JcmOptions(ledgers=("japan",)) and jcm.base_url == "http://jcm.test"
    assert settings.api.cors_origins == ("https://a.example", "https://b.example")
    assert settings.feed.stream_poll == 0.5


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"METAREGISTRY_CONNECTORS__SRN_PPI__PAGE_SIZE": "lots"},
            "connectors.srn-ppi.page_size: Input should be a valid integer, unable to parse "
            "string as an integer (value: 'lots')",
        ),
        (
            {"METAREGISTRY_CONNECTORS__SRN_PPI__PAGESIZE": "40"},
            "connectors.srn-ppi.pagesize: is not an option of this connector",
        ),
        (
            {"METAREGISTRY_CONNECTORS__TCCR__SOURCE": "ftp"},
            "connectors.tccr.source: Input should be 'export' or 'api' (value: 'ftp')",
        ),
        (
            {"METAREGISTRY_CONNECTORS__VERRA__TIMEOUT": "-5"},
            "connectors.verra.timeout: Input should be greater than 0 (value: '-5')",
        ),
        (
            {"METAREGISTRY_CONNECTORS__VERRA__SCHEDULE": "hourly"},
            "connectors.verra.schedule: String should match pattern",
        ),
        ({"METAREGISTRY_API__PORT": "http"}, "api.port: Input should be a valid integer"),
        ({"METAREGISTRY_LOG__COLOUR": "red"}, "log.colour: is not a setting here"),
    ],
)
def test_a_bad_value_names_the_table_the_key_and_the_value(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ=environ)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_secret_in_a_bad_value_is_masked() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from({"connectors": {"verra": {"token": ["hunter2"]}}})
    assert str(caught.value).startswith("connectors.verra.token: Input should be a valid string")
    assert "hunter2" not in str(caught.value)


def test_a_bad_file_value_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "metaregistry.toml"
    config.write_text('[connectors.jcm]\nbase_url = "http://x"\nledgers = ["../etc"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert str(caught.value).startswith(f"{config}: connectors.jcm.ledgers.0: String should")
    assert "'../etc'" in str(caught.value)


def test_the_cli_refuses_a_bad_option_in_one_line(tmp_path: Path) -> None:
    """A bad value next to a healthy connector: ``metaregistry sync`` stops before anything
    runs (no database is created), with one line naming the connector, key and value."""
    config = tmp_path / "metaregistry.toml"
    db = tmp_path / "index.db"
    config.write_text(
        f'database_url = "sqlite:///{db}"\n'
        '[connectors.verra]\nbase_url = "http://127.0.0.1:9"\n'
        '[connectors.srn-ppi]\nbase_url = "http://127.0.0.1:9"\n'
    )
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "sync"],
        env={"METAREGISTRY_CONNECTORS__SRN_PPI__PAGE_SIZE": "lots"},
    )
    assert result.exit_code == 1, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert "connectors.srn-ppi.page_size" in result.output and "'lots'" in result.output
    assert not db.exists()


def test_the_reference_is_generated_and_up_to_date() -> None:
    """docs/SETTINGS.md is ``metaregistry config --reference``'s output, not hand-kept."""
    generated = CliRunner().invoke(main, ["config", "--reference"])
    assert generated.exit_code == 0, generated.output
    text = generated.output
    for model in (ApiSettings, FeedSettings, LogSettings, WebhookSettings, ConnectorSettings):
        for key in model.model_fields:
            assert f"| `{key}` |" in text, key
    for name, connector in plugins.load_all().items():
        assert f"### `[connectors.{name}]` options" in text
        for key in connector.options_model.model_fields:
            env = f"METAREGISTRY_CONNECTORS__{name.upper().replace('-', '_')}__{key.upper()}"
            assert env in text
    on_disk = (Path(__file__).parents[2] / "docs" / "SETTINGS.md").read_text(encoding="utf-8")
    assert on_disk == text, f"docs/SETTINGS.md is stale: run {REFERENCE_COMMAND}"


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[api\nport = 1")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(config, environ={})


def test_secrets_are_masked() -> None:
    masked = mask_secrets(
        {
            "database_url": "postgresql://user:hunter2@db/x",
            "connectors": {"srn-ppi": {"token": "abc", "base_url": "http://x"}},
            "log": {"key_file": "/k.pem"},
            "webhooks": [{"url": "http://h", "secret": "s3"}],
        }
    )
    text = str(masked)
    assert "hunter2" not in text and "abc" not in text and "s3" not in text
    assert "/k.pem" in text and "http://x" in text


def test_config_command_shows_effective_values(tmp_path: Path) -> None:
    config = tmp_path / "metaregistry.toml"
    config.write_text(TOML)
    result = CliRunner().invoke(
        main, ["--config", str(config), "config"], env={"METAREGISTRY_API__PORT": "9100"}
    )
    assert result.exit_code == 0, result.output
    assert '"port": 9100' in result.output
    assert "file-token" not in result.output and "****" in result.output
