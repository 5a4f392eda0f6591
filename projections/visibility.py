"""Who may read what, as of a moment: the one read-visibility rule (issue 7).

`visibility(read, actor, moment)` gives a filter that the GraphQL resolvers and the download
routes both apply. finance_bureau, auditor and system read everything. Everyone else reads
what was disclosed to an audience they belong to at or before the moment, plus, for a
budget unit, the subjects of its unit and the units under it, and, for an agency, the
subjects it was commissioned to evaluate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ledger import permissions as p
from ledger.annex import AnnexKind, AnnexTable, Provenance
from ledger.domain.base import type_name
from ledger.domain.subject import Subject
from ledger.errors import DomainError, HiddenSubject
from ledger.grades import Grade
from ledger.runtime import Actor
from ledger.tokens import public_actor, token_id_of
from projections.coverage import coverage_of
from projections.exports.coverage_report import TableName, coverage_report, table_report
from projections.exports.report import Report, report_from_annex
from projections.exports.results_ledger_report import ledger_report
from projections.exports.review_report import review_report
from projections.monitoring_rounds import RoundSummary, round_summary
from projections.results_ledger import ResultsLedger, restricted
from projections.review import ReviewResults, review_results
from projections.rows import SubjectRow
from projections.values import (
    AuditEntry,
    Coverage,
    Moment,
    Page,
    SubjectDetail,
    SubjectSummary,
)
from projections.views import MAX_PAGE, ReadModel, summary

READ_ALL = frozenset({p.FINANCE_BUREAU, p.AUDITOR, p.SYSTEM})
AUDIENCES: dict[str, frozenset[str]] = {
    p.CONGRESS: frozenset({"peoples_congress", "standing_committee", "public"}),
}
PUBLIC_AUDIENCES = frozenset({"public"})


class NotVisible(Exception):
    """The caller's credential does not reach this data (HTTP 403 / typed refusal)."""


@dataclass(frozen=True)
class Visibility:
    """A filter over subjects: everything, or the listed codes and units."""

    everything: bool
    audiences: frozenset[str]
    codes: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()

    def allows(self, code: str, unit_code: str | None = None) -> bool:
        return self.everything or code in self.codes or (
            unit_code is not None and unit_code in self.units)

    def allows_row(self, row: SubjectRow) -> bool:
        return self.allows(row.code, row.unit_code)

    def sees_audience(self, audience: str) -> bool:
        return self.everything or audience in self.audiences


def reader_of(actor: Actor) -> str:
    """What an actor may see, as a cache key: every role that reads all sees the same.

    Enough to key an answer pinned to a past position: `visibility` at that position follows
    from the role, the unit (whose parent is fixed when it is registered) and the agency."""
    return "*" if actor.role in READ_ALL else \
        f"{actor.role}|{actor.unit_code or ''}|{actor.agency_code or ''}"


def audiences_of(actor: Actor) -> frozenset[str]:
    return AUDIENCES.get(actor.role, PUBLIC_AUDIENCES)


def visibility(read: ReadModel, actor: Actor, moment: Moment) -> Visibility:
    """The filter for `actor` reading the ledger as of `moment`."""
    if actor.role in READ_ALL:
        return Visibility(everything=True, audiences=frozenset())
    audiences = audiences_of(actor)
    marks = ",".join("?" * len(audiences))
    found = read.rows(f"SELECT subject_codes FROM disclosure_rows WHERE audience IN ({marks}) "
                      "AND position <= ?", (*sorted(audiences), moment.position))
    codes = {c for (raw,) in found for c in json.loads(raw)}
    units: set[str] = set()
    if actor.role == p.BUDGET_UNIT and actor.unit_code:
        units = unit_tree(read, actor.unit_code)
    if actor.role == p.AGENCY and actor.agency_code:
        codes |= commissioned(read, actor.agency_code, moment)
    return Visibility(everything=False, audiences=audiences, codes=frozenset(codes),
                      units=frozenset(units))


def unit_tree(read: ReadModel, root: str) -> set[str]:
    """A unit and every unit under it (主管部门 → 所属单位)."""
    children: dict[str, list[str]] = {}
    for code, parent in read.rows("SELECT code, parent_code FROM unit_rows"):
        if parent is not None:
            children.setdefault(parent, []).append(code)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def commissioned(read: ReadModel, agency_code: str, moment: Moment) -> set[str]:
    """Codes of the subjects an agency was commissioned to evaluate by the moment."""
    commissions = read.events_of_type(type_name(Subject.EvaluationCommissioned), moment)
    ids = {e.subject_id for e in commissions
           if e.changes.get("agency_code") == agency_code}
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {r[0] for r in read.rows(f"SELECT DISTINCT code FROM subject_rows WHERE subject_id "
                                    f"IN ({marks})", tuple(sorted(ids)))}


# -- the views, filtered ------------------------------------------------------------------

def annex_name(table: str) -> str:
    return table.replace("-", "_")


def table(read: ReadModel, vis: Visibility, moment: Moment, fiscal_year: int,
          kind: AnnexKind) -> AnnexTable:
    """An annex table with only the visible rows, numbered again from 1."""
    found = read.evaluation_table(moment, fiscal_year, kind)
    if vis.everything:
        return found
    ids = visible_ids(read, vis, moment, fiscal_year)
    rows = [r for r in found.rows if r.subject_id in ids]
    return replace(found, rows=tuple(replace(r, seq=i) for i, r in enumerate(rows, start=1)))


def visible_ids(read: ReadModel, vis: Visibility, moment: Moment, fiscal_year: int) -> set[str]:
    return {r.subject_id for r in read.year_rows(moment, fiscal_year)
            if vis.allows_row(r)}


def coverage(read: ReadModel, vis: Visibility, moment: Moment, fiscal_year: int) -> Coverage:
    if vis.everything:
        return read.coverage(moment, fiscal_year)
    return coverage_of(fiscal_year, [r for r in read.year_rows(moment, fiscal_year)
                                     if vis.allows_row(r)])


def subjects(read: ReadModel, vis: Visibility, moment: Moment, *, fiscal_year: int | None,
             unit_code: str | None, grade: Grade | None, first: int,
             after: str | None) -> Page[SubjectSummary]:
    """ReadModel.subjects with the filter in the SQL, so keyset pages stay full and exact."""
    if vis.everything:
        return read.subjects(moment, fiscal_year=fiscal_year, unit_code=unit_code,
                             grade=grade, first=first, after=after)
    first = max(1, min(first, MAX_PAGE))
    if not vis.codes and not vis.units:
        return Page(items=[], has_next=False, end_cursor=after)
    clauses: list[str] = ["seq_key > ?"]
    params: list[Any] = [int(after or 0)]
    for column, value in (("fiscal_year", fiscal_year), ("unit_code", unit_code),
                          ("grade", None if grade is None else grade.value)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    ors = []
    for column, values in (("code", vis.codes), ("unit_code", vis.units)):
        if values:
            ors.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(sorted(values))
    clauses.append(f"({' OR '.join(ors)})")
    rows = read._visible(moment, " AND ".join(clauses), tuple(params), limit=first + 1)
    items = [summary(r) for r in rows[:first]]
    return Page(items=items, has_next=len(rows) > first,
                end_cursor=str(rows[:first][-1].seq_key) if items else after)


def subject(read: ReadModel, vis: Visibility, moment: Moment, code: str) -> SubjectDetail | None:
    """A subject the caller may not see is answered exactly like an unknown one."""
    found = read.subject(moment, code)
    if found is None or not vis.allows(code, found.summary.unit_code):
        return None
    return found


def command_refusal(read: ReadModel, actor: Actor, hidden: HiddenSubject) -> DomainError:
    """A command's refusal of a subject outside the actor's reach. A subject the caller can
    read anyway (disclosed to it) is no secret, so the refusal then says why; otherwise it
    stays exactly the refusal of an unknown subject."""
    moment = read.resolve()
    found = subject(read, visibility(read, actor, moment), moment, str(hidden.details["key"]))
    return hidden if found is None else hidden.reason


def review(read: ReadModel, vis: Visibility, moment: Moment, fiscal_year: int) -> ReviewResults:
    """复评结果 with the rows of the subjects the caller sees, numbered again; a plan shows
    only those of its subjects (the bureau publishes the results of what it disclosed)."""
    found = review_results(read, moment, fiscal_year)
    if vis.everything:
        return found
    rows = [r for r in found.rows if vis.allows(r.subject_code, r.unit_code)]
    plans = [replace(p, population=(), subjects=tuple(
        s for s in p.subjects if vis.allows(s.subject_code, s.unit_code)))
        for p in found.plans]
    plans = [replace(p, unit_codes=tuple(dict.fromkeys(s.unit_code for s in p.subjects)))
             for p in plans if p.subjects]
    return replace(found, rows=tuple(replace(r, seq=i) for i, r in enumerate(rows, start=1)),
                   plans=tuple(plans))


def check_audit(read: ReadModel, vis: Visibility, moment: Moment, subject_code: str | None,
                unit_code: str | None) -> None:
    """Who-did-what is for full readers, or for one subject / own unit the caller sees."""
    if vis.everything:
        return
    if subject_code is not None and subject(read, vis, moment, subject_code) is not None:
        return
    if subject_code is None and unit_code is not None and unit_code in vis.units:
        return
    raise NotVisible("the audit trail needs a finance_bureau or auditor token, or names a "
                     "subject (or, for a budget unit, its own unit) visible to the caller")


def shown_actors(read: ReadModel, vis: Visibility,
                 entries: list[AuditEntry]) -> list[AuditEntry]:
    """Who did what, as the caller may see it: full readers get the actor id; everyone else
    the role and the unit or agency of the token (budget_unit@XS-U03), never a token's
    holder's name or id."""
    if vis.everything:
        return entries
    ids = sorted({t for t in (token_id_of(e.actor_id) for e in entries) if t is not None})
    scopes: dict[str, tuple[str | None, str | None]] = {}
    if ids:
        scopes = {r[0]: (r[1], r[2]) for r in read.rows(
            f"SELECT id, unit_code, agency_code FROM api_tokens WHERE id IN "
            f"({','.join('?' * len(ids))})", tuple(ids))}
    return [replace(e, actor_id=public_actor(e.actor_role, *scopes.get(
        token_id_of(e.actor_id) or "", (None, None)))) for e in entries]


def check_audience(vis: Visibility, audience: str) -> None:
    if not vis.sees_audience(audience):
        raise NotVisible(f"disclosures to {audience} are not visible to this caller")


def export_report(read: ReadModel, vis: Visibility, moment: Moment, fiscal_year: int,
                  name: TableName, provenance: Provenance) -> Report:
    """A download holds what the caller may read and nothing else: the visible rows,
    numbered again, or the coverage of them. It is never refused for what it leaves out, so
    hidden rows leave no trace: not their number, not that a year or table holds any."""
    if vis.everything:
        return table_report(read, fiscal_year, name, moment, provenance)
    if name == "coverage":
        return coverage_report(coverage(read, vis, moment, fiscal_year), provenance)
    if name == "review":
        return review_report(review(read, vis, moment, fiscal_year), provenance)
    if name == "results-ledger":
        return ledger_report(read, moment, results_ledger(read, vis, moment, fiscal_year),
                             provenance)
    return report_from_annex(table(read, vis, moment, fiscal_year, AnnexKind(name)), provenance)


def results_ledger(read: ReadModel, vis: Visibility, moment: Moment,
                   fiscal_year: int) -> ResultsLedger:
    found = read.results_ledger(moment, fiscal_year)
    if vis.everything:
        return found
    rows = [r for r in read.year_rows(moment, fiscal_year) if vis.allows_row(r)]
    return restricted(found, {r.code for r in rows}, {r.unit_code for r in rows})


def monitoring_round(read: ReadModel, vis: Visibility, moment: Moment,
                     round_id: str) -> RoundSummary | None:
    """A round's summary over the subjects in its scope the caller sees (all, for a full
    reader): its counts and sums cover only those, so a budget unit learns nothing of other
    units' rows. GraphQL's monitoringRound and the round's download both read it here."""
    return round_summary(read, moment, round_id, None if vis.everything else vis.allows_row)
