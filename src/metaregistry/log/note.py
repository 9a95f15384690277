"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID (4 bytes) || signature)``. The key ID is
``SHA-256(key name || 0x0A || 0x01 || public key)[:4]``; a key is published as the verifier
key string ``<name>+<key ID hex>+base64(0x01 || public key)``, which the Go ``sumdb/note``
package and every C2SP tool read.

Errors::

    NoteError               base class
     +-- NoteFormatError    the text is not a well-formed signed note (or key string)
     +-- SignatureError     no signature by the trusted key, or one that does not verify
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "ED25519_TYPE",
    "NoteError",
    "NoteFormatError",
    "SignatureError",
    "Signer",
    "Verifier",
    "key_id",
    "open_note",
    "sign_note",
    "split_note",
]

#: Signature type identifier of plain Ed25519 in signed-note.
ED25519_TYPE = b"\x01"
_DASH = "\u2014 "
# signed-note asks verifiers to cap the number of signatures and to accept at least 16.
_MAX_SIGNATURES = 64


class NoteError(ValueError):
    """Base class of signed-note errors."""


class NoteFormatError(NoteError):
    """The text is not a well-formed signed note, or a key string is malformed."""


class SignatureError(NoteError):
    """The note carries no valid signature by the trusted key."""


@runtime_checkable
class Signer(Protocol):
    """Something that signs with an Ed25519 key: a file today, a KMS or HSM tomorrow."""

    @property
    def name(self) -> str:
        """The key name written on signature lines (by convention the log's origin)."""
        ...

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        ...


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name (non-empty, no spaces, no '+')."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteFormatError(f"key name must be non-empty without spaces or '+': {name!r}")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key ID of an Ed25519 key."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 public key. ``name`` None trusts the key under whatever name a
    signature line gives (safe: the key ID binds the name, the signature binds the key)."""

    name: str | None
    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise NoteFormatError(f"Ed25519 public key is {len(self.public_key)} bytes, not 32")
        if self.name is not None:
            check_key_name(self.name)

    @classmethod
    def from_key_string(cls, vkey: str) -> Verifier:
        """Parse a verifier key string ``name+hex8+base64(0x01 || key)``."""
        name, sep, rest = vkey.strip().partition("+")
        hash_hex, sep2, material = rest.partition("+")  # the base64 part may contain '+'
        if not (sep and sep2) or len(hash_hex) != 8:
            raise NoteFormatError(f"not a verifier key string (name+hash+key): {vkey!r}")
        raw = _b64decode(material, "verifier key")
        if raw[:1] != ED25519_TYPE:
            raise NoteFormatError(f"verifier key is not Ed25519 (type byte {raw[:1].hex()})")
        verifier = cls(check_key_name(name), raw[1:])
        if verifier.key_string() != vkey.strip():
            raise NoteFormatError(f"verifier key hash {hash_hex} does not match its key")
        return verifier

    @classmethod
    def from_pem(cls, pem: bytes, name: str | None = None) -> Verifier:
        """A verifier from a PEM public key (SubjectPublicKeyInfo)."""
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise NoteFormatError(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise NoteFormatError(f"PEM key is {type(key).__name__}, not Ed25519")
        return cls(name, key.public_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier key string, a PEM public key, or both as ``metaregistry log key`` prints
        them (key string first; it wins, since it also names the key)."""
        lines = text.strip().splitlines()
        if lines and not lines[0].startswith("-----BEGIN"):
            return cls.from_key_string(lines[0])
        return cls.from_pem(text.strip().encode())

    def key_string(self) -> str:
        if self.name is None:
            raise NoteFormatError("a verifier key string needs a key name")
        material = base64.b64encode(ED25519_TYPE + self.public_key).decode()
        return f"{self.name}+{key_id(self.name, self.public_key).hex()}+{material}"

    def matches(self, name: str, kid: bytes) -> bool:
        """True when a signature line by ``name`` with key ID ``kid`` is by this key."""
        return (self.name is None or self.name == name) and key_id(name, self.public_key) == kid

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteFormatError(f"{what} is not valid base64: {text!r}") from exc


def sign_note(text: str, signers: list[Signer]) -> str:
    """``text`` (which must end in a newline) followed by a signature line per signer."""
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end with a newline")
    _check_characters(text)
    lines = []
    for signer in signers:
        kid = key_id(check_key_name(signer.name), signer.public_key)
        signature = base64.b64encode(kid + signer.sign(text.encode())).decode()
        lines.append(f"{_DASH}{signer.name} {signature}\n")
    return text + "\n" + "".join(lines)


def _check_characters(note: str) -> None:
    for ch in note:
        if ch < " " and ch != "\n":
            raise NoteFormatError(f"note contains control character {ch!r}")


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The text and the ``(key name, key ID, signature)`` of each signature line."""
    _check_characters(note)
    if not note.endswith("\n"):
        raise NoteFormatError("signed note must end with a newline")
    # The text is separated from the signatures by the *last* blank line.
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteFormatError("signed note has no blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    if not block:
        raise NoteFormatError("signed note has no signature lines")
    signatures = []
    for line in block.splitlines():
        if not line.startswith(_DASH):
            raise NoteFormatError(f"signature line must start with an em dash: {line!r}")
        name, sep, b64 = line[len(_DASH) :].partition(" ")
        raw = _b64decode(b64, f"signature of {name!r}")
        if not sep or len(raw) < 5:
            raise NoteFormatError(f"malformed signature line: {line!r}")
        signatures.append((check_key_name(name), raw[:4], raw[4:]))
    if len(signatures) > _MAX_SIGNATURES:
        raise NoteFormatError(f"signed note has {len(signatures)} signatures, over the limit")
    return text, signatures


def open_note(note: str, verifier: Verifier) -> str:
    """The text of ``note`` once a signature by ``verifier`` checks out.

    Raises :class:`SignatureError` when no signature line is by that key, or when one is and
    fails to verify; :class:`NoteFormatError` when the note is malformed.
    """
    text, signatures = split_note(note)
    known = [(n, sig) for n, kid, sig in signatures if verifier.matches(n, kid)]
    if not known:
        found = ", ".join(f"{n}+{kid.hex()}" for n, kid, _ in signatures)
        want = verifier.key_string() if verifier.name else verifier.public_key.hex()
        raise SignatureError(f"note is not signed by the trusted key {want} (signed by: {found})")
    for name, signature in known:
        if not verifier.verify(text.encode(), signature):
            raise SignatureError(f"signature by {name} does not verify: the note was altered")
    return text


def key_text(signer: Signer) -> str:
    """The public key as ``metaregistry log key`` prints it: key string line, then PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    pem = (
        Ed25519PublicKey.from_public_bytes(signer.public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return Verifier(signer.name, signer.public_key).key_string() + "\n" + pem
