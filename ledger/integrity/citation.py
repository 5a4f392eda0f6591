"""A checkpoint a record cites, checked before the ledger records the citation.

A closing year cites the checkpoint the closing service signed (docs/domain.md, section 8).
Whoever calls the ledger, the citation has to be one of this log's checkpoints: the note
verifies with the key configured for the database, the origin, size, root and last position
stated beside it are the note's own, and the store holds that checkpoint (a key shared by
two databases does not make one log's checkpoint the other's). A crafted checkpoint, or a
real one with edited numbers, is refused.
"""

from __future__ import annotations

import base64

from ledger.commands import CitedCheckpoint
from ledger.errors import NotFound, RuleViolation
from ledger.integrity.checkpoint import Checkpoint, NoteError, open_note
from ledger.integrity.keys import key_file, load_key
from ledger.store import Database

SIGNED_RULE = "a cited checkpoint is one this ledger's key signed, as its note says"


def key_configured_for(db: Database) -> bool:
    """Whether the database has a signing key (then a closing cites a checkpoint)."""
    return key_file(db).exists()


def check_cited(db: Database, cited: CitedCheckpoint) -> Checkpoint:
    """The cited checkpoint as its note states it; RuleViolation unless the note verifies
    with the database's key and says exactly what the citation says."""
    try:
        verifier = load_key(db).verifier()
    except FileNotFoundError:
        raise RuleViolation("CHECKPOINT_UNVERIFIABLE", "the closing cites a checkpoint, but no "
                            "signing key is configured to verify it", field="checkpoint",
                            rule=SIGNED_RULE) from None
    try:
        found = open_note(cited.note, verifier, origin=cited.origin)
        position = found.last_position
    except NoteError as exc:
        raise RuleViolation("CHECKPOINT_NOT_SIGNED", f"the cited checkpoint's note does not "
                            f"verify: {exc}", field="checkpoint.note", rule=SIGNED_RULE) from None
    stated = (cited.size, cited.root, cited.last_position)
    signed = (found.size, base64.b64encode(found.root).decode("ascii"), position)
    if stated != signed:
        raise RuleViolation("CHECKPOINT_MISMATCH", f"the citation states size, root and "
                            f"position {stated}, its signed note {signed}",
                            field="checkpoint", rule=SIGNED_RULE)
    from ledger.integrity.service import get_checkpoint  # it imports the application

    try:
        stored = get_checkpoint(db, cited.size)
    except NotFound:
        stored = None
    if stored is None or stored.root != cited.root:
        raise RuleViolation("CHECKPOINT_NOT_OF_THIS_LOG", f"this log holds no checkpoint of "
                            f"size {cited.size} with root {cited.root}", field="checkpoint",
                            rule=SIGNED_RULE)
    return found
