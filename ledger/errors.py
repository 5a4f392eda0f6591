"""Typed refusals. Every refusal names a code, the field and the rule, and appends nothing."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the ledger gives to a command."""

    kind = "domain"

    def __init__(self, code: str, message: str, *, field: str | None = None,
                 rule: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.rule = rule
        self.details = details

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.message}"


class InvalidInput(DomainError):
    """The command's input is malformed (types, formats, ranges)."""

    kind = "validation"

    def __init__(self, message: str, *, field: str | None, rule: str,
                 problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__("INVALID_INPUT", message, field=field, rule=rule,
                         **({"problems": problems} if problems else {}))


class RuleViolation(DomainError):
    """Well-formed input that a business rule refuses."""

    kind = "rule"


class NotFound(DomainError):
    kind = "not_found"

    def __init__(self, what: str, key: str, *, field: str | None = None) -> None:
        super().__init__(f"{what.upper()}_NOT_FOUND", f"no {what} {key!r}", field=field,
                         rule="must exist", key=key)


class HiddenSubject(NotFound):
    """A subject outside the actor's reach, refused exactly as an unknown one is, so that a
    refusal never tells a caller that it exists. `reason` is the refusal it stands for, for
    a caller who can read the subject anyway (it was disclosed to them)."""

    def __init__(self, key: str, reason: DomainError) -> None:
        super().__init__("subject", key, field="subjectCode")
        self.reason = reason


class Conflict(DomainError):
    """Another command changed the same aggregate first."""

    kind = "conflict"

    def __init__(self, message: str, *, current_version: int | None, field: str | None = None,
                 code: str = "VERSION_CONFLICT") -> None:
        super().__init__(code, message, field=field, rule="optimistic concurrency",
                         current_version=current_version)
        self.current_version = current_version


class Forbidden(DomainError):
    kind = "forbidden"


class Unavailable(DomainError):
    """Storage cannot be reached; nothing was recorded and the command may be retried."""

    kind = "unavailable"
