"""A checkpoint a record cites, checked before the ledger records the citation.

A disclosure cites the checkpoint its package was proven by, a closing year the one the
closing service signed (docs/domain.md, sections 10 and 8). Whoever calls the ledger, the
citation has to be one of this log's checkpoints: the note verifies with the key configured
for the database, the origin, size, root and last position stated beside it are the note's
own, the store holds that checkpoint (a key shared by two databases does not make one log's
checkpoint the other's), and it covers what the record says it proves. A crafted checkpoint,
or a real one with edited numbers or from too early, is refused; with a key configured, so
is a record that cites none.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ledger.commands import CitedCheckpoint
from ledger.errors import NotFound, RuleViolation
from ledger.integrity.checkpoint import Checkpoint, NoteError, open_note
from ledger.integrity.keys import key_file, load_key
from ledger.store import Database

SIGNED_RULE = "a cited checkpoint is one this ledger's key signed, as its note says"


@dataclass(frozen=True, slots=True)
class Citing:
    """A kind of record that cites a checkpoint, in the words its refusals use."""

    record: str  # "a closing": what cites
    covered: str  # what the checkpoint must cover: "the year's last record"
    behind: str  # the code when it does not: CHECKPOINT_BEHIND_YEAR
    how: str  # how to cite one, when a key is configured and none is cited


CLOSING = Citing(record="a closing", covered="the year's last record",
                 behind="CHECKPOINT_BEHIND_YEAR",
                 how="close a year through the closing service (closeFiscalYear, `jixiao "
                     "close-year`), which signs one")
DISCLOSURE = Citing(record="a disclosure", covered="its content position (contentPosition)",
                    behind="CHECKPOINT_BEHIND_CONTENT",
                    how="disclose through `jixiao disclose`, which signs one, or cite a "
                        "checkpoint of this log covering contentPosition as `ledger { "
                        "checkpoint }` gives it (origin, size, root, lastPosition, note)")


def key_configured_for(db: Database) -> bool:
    """Whether the database has a signing key (then a citing record cites a checkpoint)."""
    return key_file(db).exists()


def checked_citation(db: Database, cited: CitedCheckpoint | None, citing: Citing,
                     covers: int | None) -> dict[str, Any] | None:
    """What the record stores as its checkpoint: the citation once checked (check_cited)
    and covering position `covers` (None: nothing signed could cover it yet); None only
    while no signing key is configured. RuleViolation otherwise."""
    if cited is None:
        if key_configured_for(db):
            raise RuleViolation("CHECKPOINT_REQUIRED", f"a signing key is configured, so "
                                f"{citing.record} cites a checkpoint signed by it",
                                field="checkpoint", rule=citing.how)
        return None
    check_cited(db, cited, citing)
    if covers is None or cited.last_position < covers:
        raise RuleViolation(citing.behind, f"checkpoint {cited.size} ends at position "
                            f"{cited.last_position}, before {citing.covered}"
                            + ("" if covers is None else f" at {covers}"),
                            field="checkpoint",
                            rule=f"{citing.record}'s checkpoint covers {citing.covered}")
    return cited.model_dump()


def check_cited(db: Database, cited: CitedCheckpoint, citing: Citing) -> Checkpoint:
    """The cited checkpoint as its note states it; RuleViolation unless the note verifies
    with the database's key, says exactly what the citation says, and the store holds it."""
    try:
        verifier = load_key(db).verifier()
    except FileNotFoundError:
        raise RuleViolation("CHECKPOINT_UNVERIFIABLE", f"{citing.record} cites a checkpoint, "
                            "but no signing key is configured to verify it", field="checkpoint",
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
