"""The grades, their labels and the scale are defined once, in ledger/grades.py.

The commands, the GraphQL enum and the portal take them from there; the import command's
help is the one copy (so `jixiao` starts without pydantic), and a test keeps it equal.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from strawberry.types.enum import StrawberryEnumDefinition

from ledger import commands as c
from ledger.grades import DEFAULT_GRADE_SCALE, GRADE_LABELS, GRADE_NAMES_EN, LABELS_TEXT, Grade
from ledger.importing.cli import DESCRIPTION
from schema import build_schema, types
from schema.portal import grade_words

ROOT = Path(__file__).resolve().parents[2]
WORDS = {g.value for g in Grade} | set(GRADE_LABELS.values())


def literals(annotation: Any) -> set[Any]:
    """Every value a Literal inside `annotation` allows."""
    if typing.get_origin(annotation) is Literal:
        return set(typing.get_args(annotation))
    return {v for arg in typing.get_args(annotation) for v in literals(arg)}


def test_commands_take_grades_from_the_enum() -> None:
    models = [m for m in vars(c).values()
              if isinstance(m, type) and issubclass(m, BaseModel)]
    for model in models:
        for name, info in model.model_fields.items():
            assert not literals(info.annotation) & WORDS, f"{model.__name__}.{name}"
    assert c.AssignGrade.model_fields["grade"].annotation is Grade


def test_the_graphql_enum_is_the_ledgers() -> None:
    assert types.Grade is Grade
    definition = build_schema().get_type_by_name("Grade")
    assert isinstance(definition, StrawberryEnumDefinition)
    assert definition.wrapped_cls is Grade
    assert DEFAULT_GRADE_SCALE.describe() in (definition.description or "")
    assert DEFAULT_GRADE_SCALE.describe() == "优 [90,100], 良 [80,90), 中 [60,80), 差 [0,60)"


def test_the_portal_is_told_the_grades_best_first() -> None:
    assert grade_words() == [{"code": g.value, "label": GRADE_LABELS[g],
                              "labelEn": GRADE_NAMES_EN[g]} for g in Grade]
    assert [b.grade for b in DEFAULT_GRADE_SCALE.bands] == list(Grade)


def test_the_import_commands_help_names_the_labels() -> None:
    assert LABELS_TEXT in DESCRIPTION.replace("\n", "")


def test_no_other_copy_of_codes_or_labels() -> None:
    """Outside ledger/grades.py a grade is named through Grade, or comes from the server."""
    code = re.compile(r"(?<!Grade\.)\b(?:" + "|".join(g.value for g in Grade) + r")\b")
    label = re.compile("([\"'])(?:" + "|".join(GRADE_LABELS.values()) + r")\1")
    found = []
    for folder in ("ledger", "projections", "schema", "bench"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".js", ".css", ".html"} or path.name == "grades.py":
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}"
                      for pattern in (code, label) for m in pattern.finditer(text)]
    assert found == []
