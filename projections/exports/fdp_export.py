"""The Open Fiscal Data Package (datapackage.json + CSV) for open-budget tools.

The descriptor follows the Fiscal Data Package "model" (measures and
dimensions mapped onto CSV fields, spec 0.3); the amount columns also carry
the budget taxonomy's `columnType` ("value", "date:fiscal-year") used by FDP 1.0.
Its `profile` is `tabular-data-package`, which every Frictionless tool knows
without fetching anything (an air-gapped `frictionless validate` passes); that it
is a fiscal data package is said by the custom property `fiscalDataPackage`
(spec and version) next to `model`, which tools that know FDP read. The CSV
dialect is spelled out in full (CSVDDF 1.2), as the FDP profile requires. Amounts stay in
万元 as published, and the measure says so with factor 10000 and currency CNY,
so tools multiply rather than us rewriting the source figures. Only body rows
are written: the 合计 row is derivable and would be double-counted by any tool
that sums the measure.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ledger.annex import ANNEX_HEADERS
from ledger.grades import Grade
from projections.exports.csv_export import TEXT_CELL_RULE, csv_document
from projections.exports.report import Cell, Report, provenance_dict, provenance_lines

FISCAL_DATA_PACKAGE = {"spec": "https://specs.frictionlessdata.io/fiscal-data-package/",
                       "version": "0.3"}
# How csv_export.csv_document writes: CRLF, '"' quotes doubled, minimal quoting, a header.
DIALECT = {"csvddfVersion": 1.2, "delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"',
           "doubleQuote": True, "skipInitialSpace": False, "header": True,
           "caseSensitiveHeader": False}


@dataclass(frozen=True)
class _Column:
    """How one report column appears in the package: CSV field and model role."""

    index: int | None  # None: derived, not a report column (fiscal year, grade code)
    field: str
    title: str
    type: str
    dimension: str | None = None
    attribute: str | None = None
    dimension_type: str | None = None
    factor: int | None = None  # set for money measures
    column_type: str | None = None
    label_for: str | None = None


_SEQ, _SUBJECT, _UNIT, _FUNDS, _ASSESSMENT, _GRADE = ANNEX_HEADERS

_ANNEX_ROLES: dict[str, tuple[str, str, str | None, str | None, str | None]] = {
    # header: (field, table-schema type, dimension, attribute, dimensionType)
    _SEQ: ("seq", "integer", "seq", "id", "fact"),
    _SUBJECT: ("subject", "string", "subject", "title", "activity"),
    _UNIT: ("unit", "string", "unit", "title", "entity"),
    _FUNDS: ("funds", "number", None, None, None),
    _ASSESSMENT: ("assessment", "string", "subject", "assessment", None),
    _GRADE: ("grade", "string", "grade", "label", "classification"),
}


def _money_factor(header: str) -> int | None:
    if "万元" in header:
        return 10000
    if "元" in header:
        return 1
    return None


def _columns(report: Report) -> list[_Column]:
    """Map report columns onto package fields; annex headers get their known roles."""
    columns: list[_Column] = []
    if report.fiscal_year is not None:
        columns.append(
            _Column(
                None,
                "fiscal_year",
                "预算年度 (fiscal year)",
                "year",
                "date",
                "year",
                "datetime",
                column_type="date:fiscal-year",
            )
        )
    for index, header in enumerate(report.headers):
        if header in _ANNEX_ROLES:
            field, kind, dimension, attribute, dimension_type = _ANNEX_ROLES[header]
            if header == _FUNDS:
                columns.append(
                    _Column(index, field, header, kind, factor=10000, column_type="value")
                )
                continue
            if header == _GRADE:
                columns.append(
                    _Column(
                        None,
                        "grade_code",
                        "评价等级代码 (grade code)",
                        "string",
                        "grade",
                        "code",
                        "classification",
                    )
                )
                columns.append(
                    _Column(
                        index,
                        field,
                        header,
                        kind,
                        dimension,
                        attribute,
                        dimension_type,
                        label_for="code",
                    )
                )
                continue
            columns.append(
                _Column(index, field, header, kind, dimension, attribute, dimension_type)
            )
            continue
        field = f"column_{index + 1}"
        factor = _money_factor(header) if index in report.numeric_columns else None
        if factor is not None:
            columns.append(
                _Column(index, field, header, "number", factor=factor, column_type="value")
            )
        else:
            kind = "number" if index in report.numeric_columns else "string"
            columns.append(_Column(index, field, header, kind, field, "value", "other"))
    if not any(c.factor is not None for c in columns):
        raise ValueError(
            "a fiscal data package needs a money column: a numeric column whose header "
            "names its unit (万元 or 元)"
        )
    return columns


def _value(column: _Column, row: tuple[Cell, ...], report: Report) -> Cell:
    if column.field == "fiscal_year":
        return report.fiscal_year
    if column.field == "grade_code":
        label = row[report.headers.index(_GRADE)]
        return Grade.from_label(label).value if isinstance(label, str) and label else ""
    assert column.index is not None
    return row[column.index]


def fdp_csv_bytes(report: Report) -> bytes:
    """The package's data: UTF-8 without BOM, one line per body row, no 合计; text cells
    are neutralised as in every CSV we write (csv_export.csv_document)."""
    columns = _columns(report)
    header: tuple[Cell, ...] = tuple(c.field for c in columns)
    body = (tuple(_value(c, row, report) for c in columns) for row in report.rows)
    return csv_document((header, *body), bom=False)


def _model(columns: list[_Column], resource: str) -> dict[str, object]:
    measures: dict[str, object] = {}
    dimensions: dict[str, dict[str, object]] = {}
    attributes: dict[str, dict[str, object]] = {}
    for column in columns:
        if column.factor is not None:
            measure: dict[str, object] = {
                "source": column.field,
                "resource": resource,
                "currency": "CNY",
                "factor": column.factor,
                "title": column.title,
            }
            if column.title == _FUNDS:  # the annex's 财政资金 is money spent
                measure["direction"] = "expenditure"
            measures[column.field] = measure
            continue
        assert column.dimension is not None and column.attribute is not None
        attribute: dict[str, object] = {"source": column.field, "resource": resource}
        if column.label_for is not None:
            attribute["labelfor"] = column.label_for
        attributes.setdefault(column.dimension, {})[column.attribute] = attribute
        dimension = dimensions.setdefault(column.dimension, {})
        dimension.setdefault("primaryKey", column.attribute)  # the first attribute keys it
        if column.dimension_type is not None:
            dimension["dimensionType"] = column.dimension_type
    return {
        "measures": measures,
        "dimensions": {
            name: {"attributes": attributes[name], **dimension}
            for name, dimension in dimensions.items()
        },
    }


def datapackage(report: Report, csv_path: str, data: bytes) -> dict[str, object]:
    """The descriptor for the package whose CSV bytes are `data`."""
    columns = _columns(report)
    resource = report.name
    fields = []
    for column in columns:
        spec: dict[str, object] = {"name": column.field, "title": column.title, "type": column.type}
        if column.column_type is not None:
            spec["columnType"] = column.column_type
        if column.factor is not None:
            spec["decimalChar"] = "."
        fields.append(spec)
    descriptor: dict[str, object] = {
        "profile": "tabular-data-package",
        "fiscalDataPackage": dict(FISCAL_DATA_PACKAGE),
        "name": f"jixiao-{report.name}",
        "title": report.title,
        "description": "\n".join(provenance_lines(report.provenance)),
        "countryCode": "CN",
        "granularity": "aggregated",
        "created": report.provenance.recorded_at.isoformat()
        if report.provenance.recorded_at is not None
        else None,
        "provenance": provenance_dict(report.provenance),
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": resource,
                "title": report.title,
                "description": TEXT_CELL_RULE,
                "path": csv_path,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": len(data),
                "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                "dialect": dict(DIALECT),
                "schema": {"fields": fields},
            }
        ],
        "model": _model(columns, resource),
    }
    if report.fiscal_year is not None:
        # China's fiscal year is the calendar year.
        descriptor["fiscalPeriod"] = {
            "start": f"{report.fiscal_year}-01-01",
            "end": f"{report.fiscal_year}-12-31",
        }
    if descriptor["created"] is None:
        del descriptor["created"]
    return descriptor


def write_fdp(report: Report, out: Path) -> None:
    """Write the package as a directory: `out/datapackage.json` and `out/data/<name>.csv`."""
    data = fdp_csv_bytes(report)
    csv_path = f"data/{report.name}.csv"
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / csv_path).write_bytes(data)
    descriptor = datapackage(report, csv_path, data)
    text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    (out / "datapackage.json").write_bytes(text.encode("utf-8"))
