"""Text as the ledger accepts it, and stored text as a terminal is shown it.

Every string a command carries is kept forever and read back by PostgreSQL (whose text
columns refuse U+0000), by terminals (which obey escape sequences), by PDF and spreadsheet
writers and by people comparing names. So one rule, defined here and applied to every text
field of every command, to corrections and to token names: no control characters other than
tab and newline, no lone surrogates; names and identifiers also hold no bidirectional
overrides or isolates (which make a name read differently from what it is). Numbers written
as text use ASCII digits only: "١٢٣" is not 123.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# C0 controls except tab and newline, DEL, C1 controls, and surrogates (only lone ones can
# reach a Python str). The same characters are escaped on a terminal (`printable`).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_TEXT_REFUSES = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
_NAME_REFUSES = re.compile(f"[{_CONTROLS}{_SURROGATES}{_BIDI}]")

TEXT_RULE = "text_characters"
NAME_RULE = "name_characters"
NUMBER_RULE = "ascii_decimal"

# Optional sign, ASCII digits, an optional fraction and exponent: what Decimal() reads, minus
# the other scripts' digits and the underscores it also accepts.
DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _kind(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "NUL"
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "a bidirectional override or isolate"
    return "a control character"


def text_problem(value: str, *, name: bool = False) -> str | None:
    """Why `value` may not be recorded (None: it may). `name`: the stricter rule for names,
    titles and identifiers."""
    found = (_NAME_REFUSES if name else _TEXT_REFUSES).search(value)
    if found is None:
        return None
    char = found.group()
    allowed = ("a name holds no control characters, lone surrogates or bidirectional "
               "overrides/isolates" if name else
               "text holds no control characters other than tab and newline, and no lone "
               "surrogates")
    return f"U+{ord(char):04X} ({_kind(char)}) at character {found.start() + 1}: {allowed}"


def refusal(rule: str, message: str) -> PydanticCustomError:
    """A ValueError that pydantic reports with `rule` as its type (the refusal's rule)."""
    return PydanticCustomError(rule, "{message}", {"message": message})


def check_text(value: Any, *, name: bool = False) -> Any:
    """`value` unchanged, or a refusal saying which character breaks the rule and where.
    Non-strings pass: their type is checked elsewhere."""
    if isinstance(value, str) and (problem := text_problem(value, name=name)) is not None:
        raise refusal(NAME_RULE if name else TEXT_RULE, problem)
    return value


def check_name(value: Any) -> Any:
    return check_text(value, name=True)


def check_nested(value: Any) -> Any:
    """A JSON-like value unchanged, or a refusal naming the first string in it that breaks
    the rule (keys are held to the name rule, string values to the text rule)."""
    found = nested_problem(value)
    if found is not None:
        where, problem = found
        raise refusal(TEXT_RULE, f"at {where}: {problem}" if where else problem)
    return value


def nested_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """(where, why) for the first string in a JSON-like value that breaks the rule: keys are
    held to the name rule, string values to the text rule."""
    if isinstance(value, str):
        problem = text_problem(value)
        return None if problem is None else (path, problem)
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (problem := text_problem(key, name=True)) is not None:
                return path or "(key)", f"key {key!r}: {problem}"
            if (found := nested_problem(item, where)) is not None:
                return found
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            if (found := nested_problem(item, f"{path}[{index}]")) is not None:
                return found
    return None


def parse_decimal_text(value: Any) -> Any:
    """A decimal written as text, read only if its digits are ASCII; other values pass."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not DECIMAL_TEXT.fullmatch(text):
        raise refusal(NUMBER_RULE, f"{printable(value)!r} is not a decimal number written "
                      "with ASCII digits (e.g. \"85.5\")")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise refusal(NUMBER_RULE, f"{printable(value)!r} is not a decimal number") from None


DecimalText = Annotated[Decimal, BeforeValidator(parse_decimal_text)]
"""A decimal field of a model (a rule's weight, a grade band's bound): ASCII digits only."""


# What a terminal must not be handed raw: the characters refused above plus the Unicode line
# and paragraph separators, each shown as its escape instead.
_UNPRINTABLE = re.compile(f"[{_CONTROLS}{_SURROGATES}{_BIDI}\u2028\u2029]")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` safe to write to a terminal: control characters, bidirectional controls and
    lone surrogates shown as \\xNN / \\uNNNN, so stored text cannot move the cursor, retitle
    the window or reorder what the operator reads. Tab and newline are escaped too, unless
    `keep_newlines` (multi-line output) keeps them."""
    def escape(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    escaped = _UNPRINTABLE.sub(escape, text)
    return escaped if keep_newlines else escaped.replace("\t", "\\t").replace("\n", "\\n")


def printable_json(line: str) -> str:
    """A JSON text with every character `printable` escapes written as \\uNNNN instead: the
    same JSON value, safe on a terminal (json.dumps leaves DEL, C1 and bidi controls raw)."""
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", line)
