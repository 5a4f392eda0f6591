"""The offline verifier: checks an audit bundle with no database, no server, no trust.

Imports only the standard library, cryptography, rfc8785, the integrity primitives, the
annex-table values, and the evaluation kinds' precedence with the role names
(ledger.evaluation_kinds, ledger.permissions), so an auditor can read all of what it relies on. It

1. verifies every checkpoint's signature with the verifier key (pin it with `key`);
2. hashes each line of events.jsonl as bytes (lines are already canonical, so this is what
   was sealed), recomputes the RFC 6962 tree, and requires each checkpoint's root at its
   size, its "position" line to name the record at that size, and an RFC 9162 consistency
   proof between successive checkpoints;
3. checks each line is a canonical record with increasing positions, and that disclosures
   (and checkpoints the auditor saw before) name roots the tree reproduces;
4. replays the records up to a checkpoint into the annex tables (附件1, 附件2) of every
   fiscal year found.

Any failure raises BundleError naming the file, and for events the line and position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import rfc8785

from ledger.annex import AnnexKind, AnnexRow, AnnexTable
from ledger.evaluation_kinds import (
    DEPARTMENT,
    LEGACY_THIRD_PARTY,
    legacy_commission_kind,
    ranked,
)
from ledger.grades import Grade
from ledger.integrity import event_types as names
from ledger.integrity.checkpoint import (
    Checkpoint,
    NoteError,
    NoteVerifier,
    is_dev_key,
    open_note,
)
from ledger.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    node_hash,
    verify_consistency,
)
from ledger.permissions import BUDGET_UNIT
from ledger.subject_kinds import KEY_KINDS, OVERALL_KINDS

EVENTS_FILE = "events.jsonl"
LEAVES_FILE = "leaf-hashes.txt"
CHECKPOINT_DIR = "checkpoints"
PUBLIC_KEY_FILE = "public.key"
RECORD_KEYS = frozenset({"position", "recorded_at", "type", "aggregate_id", "version", "actor",
                         "command_id", "effective_on", "payload"})
REPLAYED = frozenset(t.encode() for t in names.REPLAYED)
CITING = {kind.encode(): what for kind, what in names.CITING.items()}
_sha256 = hashlib.sha256


class BundleError(ValueError):
    """The bundle does not prove what it claims; names the line and position when it can."""

    def __init__(self, message: str, *, line: int | None = None,
                 position: int | None = None) -> None:
        where = "" if line is None else f"{EVENTS_FILE} line {line}" + (
            "" if position is None else f" (position {position})") + ": "
        super().__init__(where + message)
        self.line = line
        self.position = position


class LogTree:
    """Leaf hashes of a log as it is read, its frontier, and big aligned subtrees for proofs.

    One SHA-256 per leaf plus one per interior node, in a tight loop; the perfect subtrees
    of 2**CACHED_LEVEL leaves and more are remembered as they complete, so any later root or
    consistency proof costs O(log n) hashes instead of a second pass.
    """

    CACHED_LEVEL = 8

    def __init__(self) -> None:
        self.leaves = bytearray()
        self.size = 0
        self.cache: dict[tuple[int, int], bytes] = {}
        self._stack: list[bytes] = []

    def add(self, data: bytes) -> bytes:
        """Append the leaf of `data` (a record's bytes); returns its leaf hash."""
        digest = _sha256(b"\x00" + data).digest()
        self.leaves += digest
        stack, carry, level, node = self._stack, self.size, 0, digest
        stack.append(digest)
        while carry & 1:
            right = stack.pop()
            node = stack[-1] = _sha256(b"\x01" + stack[-1] + right).digest()
            carry >>= 1
            level += 1
            if level >= self.CACHED_LEVEL:
                end = self.size + 1
                self.cache[(end - (1 << level), end)] = node
        self.size += 1
        return digest

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        view = self.leaves
        return [bytes(view[i * 32:(i + 1) * 32]) for i in range(start, end)]

    def root_at(self, size: int) -> bytes:
        """Root of the first `size` leaves (size <= self.size)."""
        return CompactRange.from_source(size, self, self.cache).root()


# ------------------------------------------------------------------------ replay


@dataclass
class _Subject:
    name: str
    kind: str
    fiscal_year: int
    unit_code: str
    funds: Decimal
    is_key: bool
    narratives: dict[str, str]  # evaluation id -> 评价情况, in recording order
    kinds: dict[str, str]  # evaluation id -> whose it is (finance, department)
    commissions: dict[str, str]  # commission id -> whose evaluation it commissions
    by_version: dict[int, str]  # event version -> evaluation id (for corrections)
    grade: str | None = None

    def assessment(self) -> str:
        """The 评价情况 of the evaluation the authoritative score rests on (precedence)."""
        chosen = ranked((self.kinds[key], key) for key in self.narratives)
        assert chosen is not None, "a subject in an annex has an evaluation"
        return self.narratives[chosen]


class AnnexReplay:
    """Rebuilds the annex tables from records, by the same rules as the read models."""

    def __init__(self) -> None:
        self.units: dict[str, str] = {}  # unit code -> name (as corrected)
        self.unit_ids: dict[str, str] = {}  # aggregate id -> unit code
        self.subjects: dict[str, _Subject] = {}  # aggregate id -> subject, registration order

    def apply(self, record: dict[str, Any]) -> None:
        kind, key, p = record["type"], record["aggregate_id"], record["payload"]
        if kind == names.UNIT_REGISTERED:
            self.units[p["code"]] = p["name"]
            self.unit_ids[key] = p["code"]
        elif kind == names.SUBJECT_REGISTERED:
            self.subjects[key] = _Subject(
                name=p["name"], kind=p["kind"], fiscal_year=int(p["fiscal_year"]),
                unit_code=p["unit_code"], funds=Decimal(p["funds"]), is_key=bool(p["is_key"]),
                narratives={}, kinds={}, commissions={}, by_version={})
        elif kind == names.EVALUATION_COMMISSIONED:
            # as the aggregate reads it (ledger.domain.subject): a commission stored before
            # commissions said whose evaluation they commission is read by who recorded it
            self.subjects[key].commissions[p["commission_id"]] = (
                p.get("evaluation_kind")
                or legacy_commission_kind((record["actor"] or {}).get("role") == BUDGET_UNIT))
        elif kind == names.EVALUATION_RECORDED:
            subject = self.subjects[key]
            evaluation_kind = p["evaluation_kind"]
            if evaluation_kind == LEGACY_THIRD_PARTY:
                evaluation_kind = subject.commissions.get(p["commission_id"] or "", DEPARTMENT)
            subject.narratives[p["evaluation_id"]] = p["narrative"]
            subject.kinds[p["evaluation_id"]] = evaluation_kind
            subject.by_version[int(record["version"])] = p["evaluation_id"]
        elif kind == names.GRADE_ASSIGNED:
            self.subjects[key].grade = p["grade"]
        elif kind == names.CORRECTION_TYPE:
            self._correct(key, p["corrected_event"], int(p["corrects_version"]), p["values"])

    def _correct(self, key: str, event: str, version: int, values: dict[str, Any]) -> None:
        subject = self.subjects.get(key)
        if subject is not None and event == names.cited(names.SUBJECT_REGISTERED):
            if "name" in values:
                subject.name = values["name"]
            if "funds" in values:
                subject.funds = Decimal(values["funds"])
            if "is_key" in values:
                subject.is_key = bool(values["is_key"])
        elif (subject is not None and event == names.cited(names.EVALUATION_RECORDED)
              and "narrative" in values):
            subject.narratives[subject.by_version[version]] = values["narrative"]
        elif (key in self.unit_ids and event == names.cited(names.UNIT_REGISTERED)
              and "name" in values):
            self.units[self.unit_ids[key]] = values["name"]

    def tables(self) -> list[AnnexTable]:
        """Both annexes for every fiscal year that has subjects, years ascending."""
        found: list[AnnexTable] = []
        for year in sorted({s.fiscal_year for s in self.subjects.values()}):
            for annex in (AnnexKind.KEY_PROJECTS, AnnexKind.DEPARTMENT_OVERALL):
                chosen = [(key, s) for key, s in self.subjects.items()
                          if s.fiscal_year == year and s.narratives and (
                              s.kind in OVERALL_KINDS
                              if annex is AnnexKind.DEPARTMENT_OVERALL
                              else s.is_key and s.kind in KEY_KINDS)]
                found.append(AnnexTable(fiscal_year=year, kind=annex, rows=tuple(
                    AnnexRow(seq=i, subject_id=key, subject_name=s.name,
                             unit_name=self.units.get(s.unit_code, s.unit_code),
                             funds=s.funds.quantize(Decimal("0.01")),
                             assessment=s.assessment(),
                             grade=Grade(s.grade) if s.grade else None)
                    for i, (key, s) in enumerate(chosen, start=1))))
        return found


# ---------------------------------------------------------------------- verify


@dataclass(frozen=True)
class BundleReport:
    """A verified bundle: its key, checkpoints, and the tables replayed to `proven_by`."""

    key: str
    events: int
    checkpoints: tuple[Checkpoint, ...]
    proven_by: Checkpoint
    tables: tuple[AnnexTable, ...]
    warnings: tuple[str, ...]

    @property
    def root(self) -> str:
        return base64.b64encode(self.proven_by.root).decode("ascii")


def _read_key(bundle: Path, key: str | None, warnings: list[str]) -> NoteVerifier:
    try:
        bundled = NoteVerifier.from_text((bundle / PUBLIC_KEY_FILE).read_text("ascii"))
    except (OSError, NoteError) as exc:
        raise BundleError(f"{PUBLIC_KEY_FILE}: {exc}") from None
    if key is None:
        warnings.append(f"verifier key taken from the bundle ({bundled.text()}); pin the "
                        "key you obtained independently with --key")
        return bundled
    text = Path(key).read_text("ascii") if Path(key).is_file() else key
    try:
        pinned = NoteVerifier.from_text(text)
    except NoteError as exc:
        raise BundleError(f"--key: {exc}") from None
    if pinned != bundled:
        warnings.append(f"the bundle's {PUBLIC_KEY_FILE} is not the pinned key; using the "
                        "pinned key")
    return pinned


def _read_checkpoints(bundle: Path, verifier: NoteVerifier) -> list[Checkpoint]:
    by_size: dict[int, Checkpoint] = {}
    for path in sorted((bundle / CHECKPOINT_DIR).glob("*.note")):
        try:
            checkpoint = open_note(path.read_text("utf-8"), verifier)
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            raise BundleError(f"{CHECKPOINT_DIR}/{path.name}: {exc}") from None
        other = by_size.setdefault(checkpoint.size, checkpoint)
        if other.root != checkpoint.root:
            raise BundleError(f"two signed checkpoints of size {checkpoint.size} with "
                              "different roots: the log forked")
    if not by_size:
        raise BundleError(f"no signed checkpoints in {CHECKPOINT_DIR}/")
    found = [by_size[s] for s in sorted(by_size)]
    if len({c.origin for c in found}) != 1:
        raise BundleError(f"checkpoints name several origins: {sorted({c.origin for c in found})}")
    return found


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text} is not an integer (records carry no floats)")


_decode = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float).decode
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _tail(data: bytes, line: int) -> tuple[int, bytes]:
    """Position and type of a record without parsing it. Keys are sorted, so a canonical
    record ends with ,"position":N,"recorded_at":"…","type":"T","version":V} and nothing
    inside the payload (which comes earlier) can be mistaken for these."""
    p, t = data.rfind(b',"position":'), data.rfind(b',"type":"')
    digits = data[p + 12:data.find(b",", p + 12)]
    if p < 0 or t < p or not digits.isdigit():
        raise BundleError("not an event record (no position and type)", line=line)
    return int(digits), data[t + 9:data.find(b'"', t + 9)]


def _parse(data: bytes, line: int, position: int) -> dict[str, Any]:
    """The whole record, which must be exactly the canonical (RFC 8785) form of itself."""
    try:
        record = _decode(data.decode("utf-8"))
    except ValueError as exc:
        raise BundleError(f"not JSON ({exc})", line=line, position=position) from None
    if not isinstance(record, dict) or record.keys() != RECORD_KEYS or (
            record["position"] != position):
        raise BundleError("not an event record", line=line, position=position)
    # Python's sorted, compact, non-ASCII-escaping JSON is RFC 8785 for records without
    # floats, except for key order around non-BMP characters: fall back to the real thing.
    if _encode(record).encode("utf-8") != data and bytes(rfc8785.dumps(record)) != data:
        raise BundleError("record is not in canonical (RFC 8785) form", line=line,
                          position=position)
    return record


def _locate(bundle: Path, tree: LogTree, checkpoint: Checkpoint,
            positions: Sequence[int]) -> None:
    """Name the first line whose hash differs from the sealed leaf hashes, if the signed root
    vouches for those hashes; otherwise say which checkpoint the lines fail."""
    size = checkpoint.size
    try:
        with open(bundle / LEAVES_FILE, "rb") as f:
            sealed = [bytes.fromhex(next(f).decode("ascii").strip()) for _ in range(size)]
        authentic = CompactRange()
        authentic.extend(sealed)
        vouched = authentic.root() == checkpoint.root
    except (OSError, StopIteration, ValueError, UnicodeDecodeError):
        vouched = False
    if vouched:
        for index in range(min(size, tree.size)):
            if tree.leaf_hashes(index, index + 1)[0] != sealed[index]:
                raise BundleError(f"record differs from the sealed record (leaf {index} of "
                                  f"checkpoint {size})", line=index + 1,
                                  position=positions[index])
    if tree.size < size:
        raise BundleError(f"{EVENTS_FILE} has {tree.size} records, but checkpoint {size} "
                          f"covers {size}")
    raise BundleError(f"lines up to {size} do not reproduce the signed root of checkpoint "
                      f"{size}, and {LEAVES_FILE} cannot say which line changed")


def verify_bundle(bundle: Path | str, *, key: str | None = None, at: int | None = None,
                  strict: bool = False, known: Sequence[str] = ()) -> BundleReport:
    """Verify everything in the bundle; replay the tables to checkpoint size `at` (default:
    the last one). Raises BundleError on the first thing that does not hold.

    `known` are signed checkpoints the auditor saw before (earlier bundles, disclosures):
    the bundle must reproduce each of them, which is what proves history was not rewritten
    since, even by someone holding the signing key or recreating the whole database.

    Every line is hashed as it stands; lines the replay reads are parsed and checked to be
    canonical. `strict` parses and checks every line (slower): the signed roots already
    vouch that each line is the sealed bytes, and the sealer wrote only canonical records.
    """
    bundle = Path(bundle)
    warnings: list[str] = []
    verifier = _read_key(bundle, key, warnings)
    if is_dev_key(verifier):
        warnings.append(f"signed with a development key ({verifier.name}): the sample's, not "
                        "evidence of an official record")
    found = _read_checkpoints(bundle, verifier)
    sizes = {c.size: c for c in found}
    target = sizes.get(found[-1].size if at is None else at)
    if target is None:
        raise BundleError(f"no signed checkpoint of size {at}; sizes: {sorted(sizes)}")
    if 0 in sizes and sizes[0].root != EMPTY_ROOT:
        raise BundleError("checkpoint 0 does not carry the empty tree's root")
    if not (bundle / EVENTS_FILE).is_file():
        raise BundleError(f"{EVENTS_FILE} is missing")
    tree, replay, positions = LogTree(), AnnexReplay(), array("q")
    cited: list[tuple[int, str, dict[str, Any]]] = []
    add, last, previous = tree.add, found[-1].size, 0
    with open(bundle / EVENTS_FILE, "rb") as events:
        for number, raw in enumerate(events, start=1):
            if raw[-1:] != b"\n":
                raise BundleError("last line has no newline (truncated file?)", line=number)
            data = raw[:-1]
            add(data)
            position, kind = _tail(data, number)
            if position <= previous:
                raise BundleError(f"position does not follow {previous}", line=number,
                                  position=position)
            previous = position
            positions.append(position)
            if number > last:
                raise BundleError(f"record is beyond the last signed checkpoint ({last}), so "
                                  "nothing proves it", line=number, position=position)
            if kind in REPLAYED or strict:
                record = _parse(data, number, position)
                if kind in CITING:
                    if record["payload"].get("checkpoint"):
                        cited.append((number, CITING[kind], record["payload"]["checkpoint"]))
                elif number <= target.size:
                    _replay(replay, record, number)
            checkpoint = sizes.get(number)
            if checkpoint is not None:
                if tree.root() != checkpoint.root:
                    _locate(bundle, tree, checkpoint, positions)
                if checkpoint.last_position not in (None, position):
                    raise BundleError(f"checkpoint {number} names position "
                                      f"{checkpoint.last_position}, but its last record is "
                                      f"at {position}", line=number, position=position)
    if tree.size < last:
        _locate(bundle, tree, found[-1], positions)
    _check_consistency(tree, found)
    _check_citations(tree, cited, positions, verifier)
    _check_known(tree, verifier, found[-1].origin, known)
    return BundleReport(key=verifier.text(), events=tree.size, checkpoints=tuple(found),
                        proven_by=target, tables=tuple(replay.tables()),
                        warnings=tuple(warnings))


def _replay(replay: AnnexReplay, record: dict[str, Any], number: int) -> None:
    try:
        replay.apply(record)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise BundleError(f"record cannot be replayed ({type(exc).__name__}: {exc})",
                          line=number, position=record["position"]) from None


def _check_consistency(tree: LogTree, found: Sequence[Checkpoint]) -> None:
    for old, new in itertools.pairwise(found):
        proof = (consistency_proof(old.size, new.size, tree, tree.cache)
                 if 0 < old.size < new.size else [])
        try:
            verify_consistency(old.size, new.size, old.root, new.root, proof)
        except ProofError as exc:
            raise BundleError(f"checkpoints {old.size} and {new.size} are not consistent: "
                              f"{exc}") from None


def _check_known(tree: LogTree, verifier: NoteVerifier, origin: str,
                 known: Sequence[str]) -> None:
    for text in known:
        try:
            seen = open_note(text, verifier, origin=origin)
        except NoteError as exc:
            raise BundleError(f"known checkpoint: {exc}") from None
        if seen.size > tree.size:
            raise BundleError(f"known checkpoint {seen.size} is beyond this bundle's "
                              f"{tree.size} records: the log was cut, or the bundle is older")
        if tree.root_at(seen.size) != seen.root:
            raise BundleError(f"history was rewritten: this bundle does not reproduce the "
                              f"root of the known checkpoint {seen.size}")


def _check_citations(tree: LogTree, cited: list[tuple[int, str, dict[str, Any]]],
                     positions: Sequence[int], verifier: NoteVerifier) -> None:
    """A disclosure or a year's closing records the checkpoint it was proven by: the log must
    reproduce its root, and a signed note it carries must verify and say the same."""
    for line, what, claim in cited:
        at = positions[line - 1]
        try:
            size, root = int(claim["size"]), base64.b64decode(claim["root"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise BundleError(f"{what} names a malformed checkpoint", line=line,
                              position=at) from None
        if size >= line or tree.root_at(size) != root:
            raise BundleError(f"{what} names checkpoint {size} with a root the log does "
                              "not reproduce", line=line, position=at)
        if "note" in claim:
            try:
                signed = open_note(str(claim["note"]), verifier)
            except NoteError as exc:
                raise BundleError(f"{what} cites a checkpoint note that does not verify: "
                                  f"{exc}", line=line, position=at) from None
            if (signed.size, signed.root) != (size, root):
                raise BundleError(f"{what} cites a note of checkpoint {signed.size}, not "
                                  f"{size}", line=line, position=at)
