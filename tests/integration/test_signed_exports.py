"""Exports an auditor can check offline: the signed note travels with the file, and the fiscal
data package validates with standard tools without a network."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.application import Ledger
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.service import CheckpointInfo, checkpoint_now, load_key
from ledger.runtime import SYSTEM
from ledger.sample.loader import load_sample
from ledger.store import Database
from projections.exports.coverage_report import checkpoint_status, table_report, write_export
from projections.views import ReadModel


@pytest.fixture
def signed(ledger: Ledger, database: Database, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ReadModel, CheckpointInfo, str]]:
    """The published sample under a signed checkpoint: (views, checkpoint, public key text)."""
    key = tmp_path / "signing.key"
    verifier = init_key_file(key, "jixiao.test/exports")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    load_sample(ledger, publish=True)
    info = checkpoint_now(database, ledger, load_key(database))
    read = ReadModel(database, ledger)
    read.catch_up()
    yield read, info, verifier.text()
    read.close()


def export(read: ReadModel, fmt: str, out: Path) -> Path:
    moment = read.resolve()
    status = checkpoint_status(read, moment)
    report = table_report(read, 2022, "key-projects", moment, status.provenance)
    write_export(report, fmt, out, status.note, status.signed)  # type: ignore[arg-type]
    return out


def verified_body(note: str, key: str) -> str:
    """The note's body if its Ed25519 signature by `key` holds (C2SP signed note, by hand)."""
    name, key_id, blob = key.split("+", 2)
    public = base64.b64decode(blob)
    body, _, signature_line = note.rstrip("\n").rpartition("\n\n")
    signer, _, signature = signature_line.removeprefix("\u2014 ").partition(" ")
    raw = base64.b64decode(signature)
    assert signer == name and raw[:4].hex() == key_id
    assert hashlib.sha256(name.encode() + b"\n" + public).digest()[:4].hex() == key_id
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(raw[4:], (body + "\n").encode())
    return body + "\n"


def test_the_csv_sidecar_carries_the_signed_checkpoint_note_verbatim(
        signed: tuple[ReadModel, CheckpointInfo, str], tmp_path: Path) -> None:
    read, info, key = signed
    out = export(read, "csv", tmp_path / "annex.csv")
    sidecar: dict[str, Any] = json.loads((tmp_path / "annex.csv.provenance.json").read_text())
    note = sidecar["checkpoint_note"]
    assert note == info.note
    origin, size, root = verified_body(note, key).splitlines()[:3]
    assert (origin, int(size), root) == (sidecar["checkpoint_origin"],
                                         sidecar["checkpoint_size"], sidecar["checkpoint_root"])
    assert "checkpoint covering position" in sidecar["checkpoint_summary"]
    assert sidecar["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    with pytest.raises(InvalidSignature):
        verified_body(note.replace(root, base64.b64encode(bytes(32)).decode()), key)


def test_the_sidecar_keeps_the_earliest_covering_note_after_a_later_checkpoint(
        signed: tuple[ReadModel, CheckpointInfo, str], database: Database,
        tmp_path: Path) -> None:
    read, info, key = signed
    pinned = export(read, "csv", tmp_path / "pinned" / "annex.csv")
    read.ledger.register_unit({"command_id": "later-unit", "code": "LATER-1",
                               "name": "之后登记的单位"}, SYSTEM)
    later = checkpoint_now(database, read.ledger, load_key(database))
    assert later.size > info.size
    moment = read.resolve(position=info.last_position)
    status = checkpoint_status(read, moment)
    again = tmp_path / "again" / "annex.csv"
    write_export(table_report(read, 2022, "key-projects", moment, status.provenance), "csv",
                 again, status.note, status.signed)
    sidecar: dict[str, Any] = json.loads(again.with_name("annex.csv.provenance.json")
                                         .read_text())
    assert sidecar["checkpoint_note"] == info.note != later.note  # verbatim, the earliest
    verified_body(sidecar["checkpoint_note"], key)
    assert "earliest signed checkpoint covering" in sidecar["checkpoint_summary"]
    assert again.read_bytes() == pinned.read_bytes()
    assert again.with_name("annex.csv.provenance.json").read_bytes() == (
        pinned.with_name("annex.csv.provenance.json").read_bytes())


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name resolves and no socket connects: whatever needs the network fails."""
    def refuse(*args: object, **kwargs: object) -> Any:
        raise OSError("the network is unavailable in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("backend", ["sqlite"])  # files only: one store
def test_the_fiscal_data_package_validates_offline_with_frictionless(
        signed: tuple[ReadModel, CheckpointInfo, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    frictionless = pytest.importorskip("frictionless")
    read, info, key = signed
    package = export(read, "fdp", tmp_path / "fdp")
    descriptor = json.loads((package / "datapackage.json").read_text("utf-8"))
    assert descriptor["provenance"]["checkpoint_note"] == info.note
    verified_body(descriptor["provenance"]["checkpoint_note"], key)
    assert descriptor["fiscalDataPackage"]["version"] == "0.3" and descriptor["model"]
    offline(monkeypatch)
    report = frictionless.validate(str(package / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note", "message"])
    # What the descriptor declared before: a profile frictionless must fetch, which fails here.
    (package / "fetching.json").write_text(json.dumps({**descriptor,
                                                       "profile": "fiscal-data-package"}))
    assert not frictionless.validate(str(package / "fetching.json")).valid
    # And a dialect that leaves the quoting unsaid is not the one csv_document writes.
    assert descriptor["resources"][0]["dialect"]["doubleQuote"] is True
