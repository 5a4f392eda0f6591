"""Page-size and cursor checks shared by every paginated field."""

from __future__ import annotations

import re

from schema.errors import PublicError

MAX_PAGE = 200
CURSOR = re.compile(r"^\d{1,18}$")


def check_page(first: int, after: str | None) -> int:
    """The page size to use: capped at MAX_PAGE; foreign cursors and sizes < 1 are refused."""
    if first < 1:
        raise PublicError(f"first must be at least 1 (got {first})", code="PAGE_SIZE")
    if after is not None and not CURSOR.match(after):
        raise PublicError("after must be an endCursor from a previous page", code="BAD_CURSOR")
    return min(first, MAX_PAGE)
