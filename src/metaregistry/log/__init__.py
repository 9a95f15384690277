"""The tamper-evident log: an RFC 6962 Merkle tree over every record version and alert event,
signed checkpoints in the C2SP tlog-checkpoint format, and an independent verifier.

Modules, each one idea:

    merkle      hashing, roots, inclusion and consistency proofs, their verification (pure)
    compact     appending through the frontier; an in-memory tree (pure)
    leaf        the leaf bytes of a block version or an alert event
    note        C2SP signed notes, the Signer protocol, Verifier keys
    keyfile     FileSigner: the Ed25519 key in a 0600 PEM file
    checkpoint  TreeHead and SignedCheckpoint
    tables      the log's tables in the index database (migration 0002_log)
    store       appends, roots, proofs and checkpoints inside the caller's transaction
    export      ``metaregistry log export``
    sources     what a verifier reads: the HTTP API or an export
    verify      the checks of ``metaregistry verify``
    routes      ``/v1/log/...``;  cli: ``metaregistry log ...`` and ``metaregistry verify``

Errors::

    merkle.ProofError           a proof does not verify
     +-- RootMismatchError      ... it leads to another root (names both)
    merkle.TreeRangeError       a root or proof asked outside the tree
    note.NoteError              a signed note is malformed or not signed by the trusted key
     +-- NoteFormatError, SignatureError; checkpoint.CheckpointFormatError
    keyfile.KeyFileError        the key file is unreadable, not Ed25519, or readable by others
    leaf.LeafFormatError        bytes that are not a canonical leaf
    store.LogCorruptError       a node the tree needs is missing from the database
    verify.VerificationError    a check of ``metaregistry verify`` failed (says which)
    sources.LogSourceError      the API or the export could not be read
"""

from metaregistry.log.checkpoint import (
    CheckpointFormatError,
    SignedCheckpoint,
    TreeHead,
    sign_checkpoint,
    verify_checkpoint,
)
from metaregistry.log.keyfile import FileSigner, KeyFileError
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafEntry, LeafFormatError
from metaregistry.log.merkle import ProofError, RootMismatchError, TreeRangeError
from metaregistry.log.note import NoteError, NoteFormatError, SignatureError, Signer, Verifier

__all__ = [
    "BlockLeaf",
    "CheckpointFormatError",
    "EventLeaf",
    "FileSigner",
    "KeyFileError",
    "LeafEntry",
    "LeafFormatError",
    "NoteError",
    "NoteFormatError",
    "ProofError",
    "RootMismatchError",
    "SignatureError",
    "SignedCheckpoint",
    "Signer",
    "TreeHead",
    "TreeRangeError",
    "Verifier",
    "sign_checkpoint",
    "verify_checkpoint",
]
