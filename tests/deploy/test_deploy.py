"""Deployment files: compose and Kubernetes validate against their schemas, systemd units pass
``systemd-analyze verify``, and the Dockerfile's build and install steps work in a fresh venv."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _compose_schema() -> dict[str, Any]:
    # check-jsonschema vendors the official compose-spec schema
    node = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(node.read_text(encoding="utf-8"))
    return loaded


def test_compose_file_matches_the_compose_spec() -> None:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    errors = sorted(
        jsonschema.Draft7Validator(_compose_schema()).iter_errors(data), key=lambda e: list(e.path)
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_compose_runs_what_the_issue_asks_for() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert services["daemon"]["deploy"]["replicas"] == 2
    assert services["api"]["deploy"]["replicas"] == 2
    assert {f"mock-{n}" for n in ("verra", "gold-standard", "srn-ppi", "tccr", "jcm")} <= set(
        services
    )
    for name in ("postgres", "api", "daemon", "mock-srn-ppi"):
        assert "healthcheck" in services[name], name
    assert services["daemon"]["secrets"] == ["metaregistry_log_key"]


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((f"{path.name}:{doc['kind']}", doc))
    return out


@pytest.mark.parametrize(("name", "manifest"), _manifests(), ids=[n for n, _ in _manifests()])
def test_kubernetes_manifest_is_valid(name: str, manifest: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_kubernetes_has_probes_secret_and_configmap() -> None:
    kinds = [n.split(":")[1] for n, _ in _manifests()]
    assert sorted(set(kinds)) == ["ConfigMap", "Deployment", "Secret", "Service"]
    for name, doc in _manifests():
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            assert container["readinessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")))
def test_systemd_unit_verifies(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if IN_CI:
            pytest.fail("systemd-analyze is required under CI=true")
        pytest.skip("systemd-analyze not installed")
    text = (DEPLOY / "systemd" / unit).read_text()
    assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text
    # verify checks that ExecStart exists: point it at this environment's metaregistry
    local = tmp_path / unit
    local.write_text(text.replace("/opt/metaregistry/venv", sys.prefix))
    result = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True)
    problems = [
        line
        for line in result.stderr.splitlines()
        if re.search(r"Unknown|ignoring|not executable|Failed|error", line, re.IGNORECASE)
    ]
    assert result.returncode == 0 and problems == [], result.stderr


def test_dockerfile_uses_the_tested_scripts_and_runs_as_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "RUN sh deploy/scripts/build-wheel.sh /wheels" in text
    assert "RUN sh /usr/local/bin/install-wheel.sh /wheels" in text
    assert re.search(r"^USER metaregistry", text, re.MULTILINE)
    assert text.count("FROM ") == 2  # multi-stage


@pytest.mark.slow
def test_image_steps_in_a_fresh_venv(tmp_path: Path) -> None:
    """What the Dockerfile runs, run here: build the wheel from a clean copy of the sources,
    install it into a new venv, check it works outside the source tree."""
    src = tmp_path / "src"
    src.mkdir()
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, src / part)
    for part in ("src", "connectors", "schemas", "deploy/scripts"):
        shutil.copytree(REPO / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", VIRTUAL_ENV=str(env_dir))
    env.pop("PYTHONPATH", None)
    build = subprocess.run(
        ["sh", "deploy/scripts/build-wheel.sh", str(tmp_path / "wheels")],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    install = subprocess.run(
        ["sh", str(src / "deploy/scripts/install-wheel.sh"), str(tmp_path / "wheels")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert "schemas load from" in install.stdout
    for name in ("verra", "gold-standard", "srn-ppi", "tccr", "jcm", "generic"):
        assert name in install.stdout
