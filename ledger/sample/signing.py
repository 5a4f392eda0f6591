"""The sample's checkpoints: so a new user's portal shows a verifiable log at once, and the
sample's disclosures cite one, as every disclosure must once a key is configured.

With no key configured, the sample signs with a development key (ledger.integrity.keys:
its name ends in `-dev`, so every signature says what it is). A configured key file that does
not exist yet is left to the operator: no checkpoint then, and the reason is said.
"""

from __future__ import annotations

from typing import Any

from ledger.application import Ledger
from ledger.integrity.citation import key_configured_for
from ledger.integrity.keys import ensure_dev_key, is_dev_key, key_configured, load_key
from ledger.integrity.service import (
    CheckpointInfo,
    checkpoint_now,
    earliest_checkpoint_covering,
    origin_setting,
)
from ledger.store import Database


def prepare_sample_key(db: Database) -> None:
    """Before the sample's events are appended: a key to authenticate them with."""
    ensure_dev_key(db, origin_setting())


def sign_sample(db: Database, ledger: Ledger) -> str:
    """Sign a checkpoint of the loaded sample; a line that says with which kind of key."""
    signer = ensure_dev_key(db, origin_setting())
    if signer is None:
        return ("no checkpoint signed: the configured key file does not exist yet "
                "(run `jixiao keys init`, then `jixiao checkpoint`)")
    info: CheckpointInfo = checkpoint_now(db, ledger, signer)
    kind = ("a DEVELOPMENT key (not for production; see docs/deploy.md)"
            if is_dev_key(signer.verifier()) else "the configured key")
    where = "" if key_configured() else " in the per-user data directory"
    return (f"checkpoint size {info.size} signed with {kind} {signer.verifier().name!r}"
            f"{where}")


def sample_citation(db: Database, ledger: Ledger, position: int) -> dict[str, Any] | None:
    """The checkpoint the sample's disclosures cite, as any disclosure must once a key is
    configured (ledger.integrity.citation): the earliest covering `position`, signed now if
    none does yet, so loading the sample again cites the same one; None without a key."""
    if not key_configured_for(db):
        return None
    found = earliest_checkpoint_covering(db, position)
    return (found or checkpoint_now(db, ledger, load_key(db))).citation()
