"""Signed notes and checkpoints: the Go sumdb/note vector, tampering, swapped keys, parsing."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metaregistry.log.checkpoint import (
    CheckpointFormatError,
    FileSigner,
    NoteFormatError,
    SignatureError,
    Signer,
    TreeHead,
    Verifier,
    parse_tree_head,
    sign_checkpoint,
    verify_checkpoint,
)
from metaregistry.log.note import key_id, open_note, sign_note, split_note

# golang.org/x/mod/sumdb/note (note_test.go / example_test.go), used as data.
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
    "fqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "metaregistry.test/log"
ROOT = bytes(range(32))


def go_signer() -> FileSigner:
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
    return FileSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def new_signer(name: str = ORIGIN) -> FileSigner:
    return FileSigner(name, Ed25519PrivateKey.generate())


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    signer = go_signer()
    assert isinstance(signer, Signer)
    assert signer.verifier().key_string() == GO_VERIFIER_KEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE


def test_the_go_note_opens_with_the_go_verifier_key() -> None:
    verifier = Verifier.from_key_string(GO_VERIFIER_KEY)
    assert open_note(GO_NOTE, verifier) == GO_TEXT
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"


def test_an_altered_note_fails_its_signature() -> None:
    verifier = Verifier.from_key_string(GO_VERIFIER_KEY)
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)


def test_a_note_signed_by_another_key_names_the_keys_it_found() -> None:
    other = new_signer("PeterNeumann")
    with pytest.raises(SignatureError, match=r"not signed by the trusted key .*PeterNeumann\+"):
        open_note(sign_note(GO_TEXT, [other]), Verifier.from_key_string(GO_VERIFIER_KEY))


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+c74f20a3+AhpcRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # wrong type
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+!!!!",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteFormatError):
        Verifier.from_key_string(vkey)


def test_a_pem_public_key_verifies_under_the_name_on_the_signature_line() -> None:
    signer = new_signer()
    signed = sign_checkpoint(TreeHead(ORIGIN, 3, ROOT), signer)
    by_pem = Verifier.parse(signer.public_pem())
    assert by_pem.name is None
    assert verify_checkpoint(signed.note, by_pem).head == TreeHead(ORIGIN, 3, ROOT)
    assert Verifier.parse(signer.verifier().key_string() + "\n") == signer.verifier()


def test_checkpoint_body_is_the_c2sp_format() -> None:
    head = TreeHead(ORIGIN, 20852163, ROOT)
    assert head.text() == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_tree_head(head.text()) == head
    assert parse_tree_head(head.text() + "extension line\n") == head


def test_a_checkpoint_round_trips_and_detects_edits() -> None:
    signer = new_signer()
    signed = sign_checkpoint(TreeHead(ORIGIN, 7, ROOT), signer)
    text, signatures = split_note(signed.note)
    assert text == signed.head.text()
    assert [name for name, _, _ in signatures] == [ORIGIN]
    assert verify_checkpoint(signed.note, signer.verifier()) == signed
    with pytest.raises(SignatureError):
        verify_checkpoint(signed.note.replace("\n7\n", "\n8\n"), signer.verifier())
    with pytest.raises(SignatureError, match="not signed by the trusted key"):
        verify_checkpoint(signed.note, new_signer().verifier())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("origin\n", "needs origin, size and root"),
        ("origin\n07\nAAAA\n", "not a decimal"),
        ("origin\n-1\nAAAA\n", "not a decimal"),
        ("origin\n1\n%%%%\n", "not base64"),
        ("origin\n1\nAAAA\n", "root is 3 bytes"),
        ("origin\n\n1\nAAAA\n", "empty line"),
    ],
)
def test_malformed_checkpoint_bodies_say_why(body: str, reason: str) -> None:
    with pytest.raises(CheckpointFormatError, match=reason):
        parse_tree_head(body)


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("text\n", "no blank line"),
        ("text\n\n", "no signature lines"),
        ("text\n\n- name AAAAAAAA\n", "em dash"),
        ("text\n\n— name AAAA\n", "malformed signature line"),
        ("text\x07\n\n— name AAAAAAAA\n", "control character"),
    ],
)
def test_malformed_notes_say_why(note: str, reason: str) -> None:
    with pytest.raises(NoteFormatError, match=reason):
        split_note(note)
