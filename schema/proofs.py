"""`ledger { checkpoint inclusionProof consistencyProof }`: the log's proofs over GraphQL.

Anyone may ask: a proof is hashes only (the leaves are SHA-256 of the canonical records), and
the checkpoint it leads to is the signed note the portal and /checkpoint publish anyway. The
proofs come from ledger.integrity.service, which checks each against its signed root before it
leaves; a client checks it again with any RFC 6962 library and the published key.

An answer that names no checkpoint size reads "the latest", which moves, so it is not pinned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ledger.errors import DomainError
from ledger.integrity.service import (
    CheckpointInfo,
    ConsistencyProof,
    InclusionProof,
    get_checkpoint,
    latest_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from projections import values
from projections.views import ReadModel
from schema.context import Information, services
from schema.errors import PublicError
from schema.fields import field
from schema.records import record_type

if TYPE_CHECKING:  # the checker sees the records the resolvers return
    CheckpointType = CheckpointInfo
    InclusionProofType = InclusionProof
    ConsistencyProofType = ConsistencyProof
else:  # GraphQL sees the types declared from them
    CheckpointType = record_type(CheckpointInfo, name="Checkpoint", descriptions={
        "root": "Base64 of the 32-byte RFC 6962 root hash.",
        "note": "The C2SP signed note, verbatim: check it with the log's public key."})
    InclusionProofType = record_type(InclusionProof, descriptions={
        "leaf_hash": "Base64 SHA-256(0x00 || canonical record bytes).",
        "hashes": "Base64 audit path, leaf to root (RFC 9162 §2.1.3).",
        "checkpoint": "The signed note of the checkpoint the proof leads to."})
    ConsistencyProofType = record_type(ConsistencyProof, descriptions={
        "hashes": "Base64 consistency path (RFC 9162 §2.1.4)."})


def covering(read: ReadModel, moment: values.Moment) -> CheckpointInfo | None:
    """The latest checkpoint if it covers the moment, as the exports cite it; none while the
    views differ from a replay of the sealed log (the answer came from them)."""
    if read.integrity.views.differ:
        return None
    found = latest_checkpoint(read.db)
    return found if found is not None and found.last_position >= moment.position else None


def _public(exc: DomainError) -> PublicError:
    return PublicError(exc.message, code=exc.code)


@strawberry.type
class ProofFields:
    """Mixed into `Ledger` (schema.queries.LedgerView), which supplies `moment` and `read`."""

    moment: strawberry.Private[values.Moment]
    read: strawberry.Private[ReadModel]

    @field(description="A signed checkpoint of the sealed log: the one of tree size `size`, or "
                      "else the latest if it covers this moment's position (null if none "
                      "does yet, or while the views differ from the sealed log).")
    async def checkpoint(self, info: Information,
                         size: int | None = None) -> CheckpointType | None:
        read = self.read
        if size is None:
            info.context.mark(False)
            return await services(info).run(covering, read, self.moment)
        try:
            return await services(info).run(get_checkpoint, read.db, size)
        except DomainError as exc:
            raise _public(exc) from None

    @field(description="RFC 9162 inclusion proof of the event at `position` (at or before "
                      "this moment) in the checkpoint of tree size `checkpoint` (default: the "
                      "latest).")
    async def inclusion_proof(self, info: Information, position: int,
                              checkpoint: int | None = None) -> InclusionProofType:
        if not 0 < position <= self.moment.position:
            raise PublicError(f"position {position} is not in the ledger at position "
                              f"{self.moment.position}", code="BAD_ARGUMENT")
        if checkpoint is None:
            info.context.mark(False)
        try:
            return await services(info).run(prove_inclusion, self.read.db, position, checkpoint)
        except DomainError as exc:
            raise _public(exc) from None

    @field(description="RFC 9162 consistency proof that the checkpoint of tree size `from` is "
                      "a prefix of the one of size `to` (default: the latest).")
    async def consistency_proof(
            self, info: Information,
            from_size: Annotated[int, strawberry.argument(name="from")],
            to_size: Annotated[int | None, strawberry.argument(name="to")] = None,
    ) -> ConsistencyProofType:
        read = self.read
        try:
            if to_size is None:
                info.context.mark(False)
                to_size = (await services(info).run(get_checkpoint, read.db)).size
            return await services(info).run(prove_consistency, read.db, from_size, to_size)
        except DomainError as exc:
            raise _public(exc) from None
