"""A disclosure (公开): exactly what was handed to an audience, and its content hash."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, stable_id
from ledger.domain.records import Correction

AUDIENCES = ("peoples_congress", "standing_committee", "public")


class Disclosure(LedgerAggregate):
    @staticmethod
    def create_id(disclosure_id: str, **_: Any) -> UUID:
        return stable_id("disclosure", disclosure_id)

    @event("Recorded")
    def __init__(self, disclosure_id: str, fiscal_year: int, audience: str, title: str,
                 subject_codes: list[str], content_hash: str, content_position: int,
                 checkpoint: dict[str, Any] | None, meta: Meta) -> None:
        self.disclosure_id = disclosure_id
        self.fiscal_year = fiscal_year
        self.audience = audience
        self.title = title
        self.subject_codes = subject_codes
        self.content_hash = content_hash
        self.content_position = content_position
        self.checkpoint = checkpoint
        self.corrections: list[Correction] = []
