"""Settings: TOML file, environment overrides, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.settings import ConfigError, load_settings, mask_secrets

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
    assert srn.options["timeout"] == 60
    assert settings.connector("gold-standard").base_url == "http://gs"
    assert settings.get("api", "port") == 9000
    assert settings.get("api", "rate_limit") == 0


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
