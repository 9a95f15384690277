"""The signing key file: created 0600 once, reused, refused when others can read it."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from metaregistry.log.keyfile import FileSigner, KeyFileError
from metaregistry.log.note import Verifier


def test_first_use_creates_a_private_key_file(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    signer = FileSigner.open(path, "metaregistry.test/log")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in tmp_path.iterdir()] == ["log.pem"]  # no temporary file left over
    again = FileSigner.open(path, "metaregistry.test/log")
    assert again.public_key == signer.public_key
    assert Verifier.parse(again.public_pem()).public_key == signer.public_key
    assert signer.verifier().verify(b"m", again.sign(b"m"))


def test_processes_starting_together_end_up_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: FileSigner.open(path, "o").public_key, range(16)))
    assert len(keys) == 1


def test_a_key_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    FileSigner.open(path, "o")
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"accessible to other users \(mode 0644\).*chmod 600"):
        FileSigner.open(path, "o")


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    path.write_text("hello")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted PEM private key"):
        FileSigner.open(path, "o")


def test_a_key_name_with_spaces_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="key name"):
        FileSigner.open(tmp_path / "log.pem", "my log")
