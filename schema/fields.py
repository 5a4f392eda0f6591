"""Typed front doors to strawberry's field decorators.

`strawberry.field(description=...)` is typed as returning Any, which mypy --strict rejects
as an untyped decorator. These keep the decorated resolver's own signature for the checker;
at runtime they are exactly strawberry's decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(*, description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description))


def subscription(*, description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.subscription(description=description))
