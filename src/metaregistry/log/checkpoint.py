"""Tree heads and signed checkpoints in the C2SP tlog-checkpoint format.

A :class:`TreeHead` is what a log says about itself (origin, size, root); a
:class:`SignedCheckpoint` is a tree head inside a signed note, which is what anyone else should
believe. The note text is exactly ``<origin>\\n<size>\\n<base64 root>\\n``
(https://c2sp.org/tlog-checkpoint); the signature is an Ed25519 signed-note line.

The origin names the log and is bound to its key: verifiers pin the pair. Key rotation
therefore starts a new origin (say ``metaregistry.example/log`` becomes
``metaregistry.example/log/2``): the tree itself goes on, checkpoints under the new origin
are signed by the new key, and a verifier who trusts both can check that the first new
checkpoint is consistent with the last old one. Never sign one origin with two keys.

Errors: :class:`CheckpointFormatError` (a malformed body), plus the signed-note errors of
:mod:`metaregistry.log.note` (:class:`NoteFormatError`, :class:`SignatureError`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from metaregistry.log.keyfile import FileSigner, KeyFileError
from metaregistry.log.merkle import HASH_SIZE
from metaregistry.log.note import (
    NoteError,
    NoteFormatError,
    SignatureError,
    Signer,
    Verifier,
    open_note,
    sign_note,
)

__all__ = [
    "CheckpointFormatError",
    "FileSigner",
    "KeyFileError",
    "NoteError",
    "NoteFormatError",
    "SignatureError",
    "SignedCheckpoint",
    "Signer",
    "TreeHead",
    "Verifier",
    "parse_tree_head",
    "sign_checkpoint",
    "verify_checkpoint",
]

_SIZE = re.compile(r"0|[1-9][0-9]*")


class CheckpointFormatError(NoteFormatError):
    """The note text is not an origin, a size and a base64 root, one per line."""


@dataclass(frozen=True)
class TreeHead:
    """The root of a log at a size. Unsigned: it proves nothing by itself."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointFormatError(f"origin must be one non-empty line: {self.origin!r}")
        if self.size < 0:
            raise CheckpointFormatError(f"tree size must be >= 0, got {self.size}")
        if len(self.root) != HASH_SIZE:
            raise CheckpointFormatError(f"root is {len(self.root)} bytes, not {HASH_SIZE}")

    def text(self) -> str:
        """The checkpoint body: ``origin\\nsize\\nbase64(root)\\n``."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A tree head and the signed note that carries it (``note`` is the exact text)."""

    head: TreeHead
    note: str

    @property
    def origin(self) -> str:
        return self.head.origin

    @property
    def size(self) -> int:
        return self.head.size

    @property
    def root(self) -> bytes:
        return self.head.root


def parse_tree_head(text: str) -> TreeHead:
    """The tree head in a checkpoint body. Extension lines after the root are ignored."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointFormatError(f"checkpoint needs origin, size and root lines: {text!r}")
    origin, size, root = lines[0], lines[1], lines[2]
    if any(line == "" for line in lines[:-1]):
        raise CheckpointFormatError("checkpoint has an empty line")
    if not _SIZE.fullmatch(size):
        raise CheckpointFormatError(f"checkpoint size is not a decimal number: {size!r}")
    try:
        raw = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointFormatError(f"checkpoint root is not base64: {root!r}") from exc
    return TreeHead(origin, int(size), raw)


def sign_checkpoint(head: TreeHead, signer: Signer) -> SignedCheckpoint:
    """Sign ``head`` with ``signer`` (whose name should be the origin)."""
    return SignedCheckpoint(head, sign_note(head.text(), [signer]))


def verify_checkpoint(note: str, verifier: Verifier) -> SignedCheckpoint:
    """The checkpoint in ``note`` once its signature by ``verifier`` checks out.

    Raises :class:`SignatureError` when the note is not signed by that key (a swapped key,
    an edited note), :class:`NoteFormatError` / :class:`CheckpointFormatError` when malformed.
    """
    return SignedCheckpoint(parse_tree_head(open_note(note, verifier)), note)
