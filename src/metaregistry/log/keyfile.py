"""The log's Ed25519 signing key in a PEM file, created with mode 0600 on first use.

The file holds a PKCS#8 private key without a passphrase: the daemon must sign unattended.
Anyone who can read it can sign checkpoints in the log's name, so a key file that other users
can read is refused rather than used. To move the key to a KMS, write another
:class:`~metaregistry.log.note.Signer`; nothing else changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metaregistry.log.note import Verifier, check_key_name

__all__ = ["FileSigner", "KeyFileError"]

_log = logging.getLogger(__name__)


class KeyFileError(Exception):
    """The key file cannot be read, is not an Ed25519 PEM key, or is readable by others."""


def announce(path: Path) -> None:
    """Say once, on stderr, where a new signing key was created (it signs every checkpoint:
    back it up; losing it means a new log origin)."""
    import sys

    print(
        f"created the log's signing key {path} (keep it, and a backup: every checkpoint "
        "is signed with it)",
        file=sys.stderr,
    )


class FileSigner:
    """A :class:`~metaregistry.log.note.Signer` over an Ed25519 key kept in a PEM file."""

    def __init__(self, name: str, key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._name = check_key_name(name)
        self._key = key
        self._public = key.public_key().public_bytes_raw()
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], name: str) -> FileSigner:
        """Load the key at ``path``, creating it (mode 0600) when the file does not exist.

        Two processes starting at once end up with the same key: the file is written under
        a temporary name and linked into place, which fails if another process won.
        """
        target = Path(path)
        if not target.exists():
            _create(target)
            announce(target)
        return cls(name, _load(target), target)

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def verifier(self) -> Verifier:
        return Verifier(self._name, self._public)

    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def _create(target: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {target}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _log.info("created log signing key %s", target)


def _load(target: Path) -> Ed25519PrivateKey:
    try:
        mode = target.stat().st_mode
        data = target.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {target}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXO | stat.S_IWGRP):
        raise KeyFileError(
            f"key file {target} is accessible to other users (mode {stat.S_IMODE(mode):04o}); "
            f"anyone who reads it can sign as this log. Run: chmod 600 {target}"
        )
    if mode & stat.S_IRGRP:
        _log.warning("key file %s is readable by its group (mode %04o)", target, mode & 0o777)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"key file {target} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {target} holds a {type(key).__name__}, not Ed25519")
    return key
