"""`jixiao keys|checkpoint|proof|audit|verify`: the verifiable log from the command line.

    jixiao keys init                      create the signing key (never overwrites)
    jixiao keys public                    print the verifier key for auditors
    jixiao checkpoint                     seal pending events and sign a checkpoint
    jixiao proof inclusion --position N [--checkpoint SIZE]
    jixiao proof consistency --from SIZE --to SIZE
    jixiao audit export [--until SIZE] --out DIR
    jixiao audit verify DIR [--key KEY] [--known NOTE]... [--at SIZE] [--plain] [--strict]
    jixiao verify                         re-check the live store against the sealed log
                                          (registered by projections.cli, which adds the views)

Exit status 1 means something did not verify; the message names what and where.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.store import Database

if TYPE_CHECKING:
    from ledger.integrity.verifier import BundleReport


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="the checkpoint signing key")
    p.add_argument("action", choices=["init", "public"])
    p.set_defaults(handler=cmd_keys)

    p = sub.add_parser("checkpoint", help="seal pending events and sign a checkpoint")
    p.add_argument("--adopt", type=int, action="append", default=[], metavar="POSITION",
                   help="vouch for an event appended without a MAC (by a process that lacked "
                        "the key) before sealing; repeatable")
    p.set_defaults(handler=cmd_checkpoint)

    p = sub.add_parser("proof", help="inclusion and consistency proofs (JSON, base64 hashes)")
    kinds = p.add_subparsers(dest="kind", required=True)
    q = kinds.add_parser("inclusion", help="an event (by position) in a checkpoint")
    q.add_argument("--position", type=int, required=True)
    q.add_argument("--checkpoint", type=int, metavar="SIZE", help="default: the latest")
    q.set_defaults(handler=cmd_proof)
    q = kinds.add_parser("consistency", help="between two checkpoints (by tree size)")
    q.add_argument("--from", dest="from_size", type=int, required=True, metavar="SIZE")
    q.add_argument("--to", dest="to_size", type=int, required=True, metavar="SIZE")
    q.set_defaults(handler=cmd_proof)

    p = sub.add_parser("audit", help="auditor's bundle: export, and verify offline")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("export", help="write events, checkpoints and key to a directory")
    q.add_argument("--until", type=int, metavar="CHECKPOINT_SIZE", help="default: the latest")
    q.add_argument("--out", type=Path, required=True, metavar="DIR")
    q.set_defaults(handler=cmd_audit_export)
    q = actions.add_parser("verify", help="verify a bundle and replay its annex tables")
    q.add_argument("bundle", type=Path, metavar="DIR")
    q.add_argument("--key", help="verifier key text or file obtained independently")
    q.add_argument("--at", type=int, metavar="SIZE", help="replay to this checkpoint")
    q.add_argument("--plain", action="store_true", help="plain text instead of tables")
    q.add_argument("--strict", action="store_true",
                   help="parse every record and check its canonical form (slower)")
    q.add_argument("--known", type=Path, action="append", default=[], metavar="NOTE",
                   help="a checkpoint seen before (file), which the bundle must reproduce")
    q.set_defaults(handler=cmd_audit_verify)

    # `jixiao verify` is registered by projections.cli: it checks the views too (verify_log).


def _fail(message: str) -> int:
    print(f"FAILED: {message}", file=sys.stderr)
    return 1


def cmd_keys(args: argparse.Namespace, db: Database) -> int:
    from ledger.integrity.keys import create_key
    from ledger.integrity.service import load_key, origin_setting

    if args.action == "init":
        try:
            path, verifier = create_key(db, origin_setting())
        except FileExistsError as exc:
            return _fail(str(exc))
        print(f"signing key written to {path} (keep it secret; back it up)")
        print(verifier.text())
        return 0
    try:
        print(load_key(db).verifier().text())
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    return 0


def cmd_checkpoint(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.integrity.sealer import UnauthenticatedEvent
    from ledger.integrity.service import adopt_events, checkpoint_now, load_key
    from ledger.migrate import migrate

    try:
        signer = load_key(db)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    migrate(db)
    ledger = Ledger(db)
    try:
        for position in adopt_events(db, ledger, signer, args.adopt):
            print(f"adopted position {position}: authenticated by the operator")
        info = checkpoint_now(db, ledger, signer)
    except UnauthenticatedEvent as exc:
        return _fail(f"not sealed: {exc}")
    finally:
        ledger.close()
    print(f"checkpoint {info.origin} size {info.size} position {info.last_position} "
          f"root {info.root}")
    print(info.note, end="")
    return 0


def cmd_proof(args: argparse.Namespace, db: Database) -> int:
    from ledger.errors import DomainError
    from ledger.integrity.service import prove_consistency, prove_inclusion

    try:
        proof: Any = (prove_inclusion(db, args.position, args.checkpoint)
                      if args.kind == "inclusion"
                      else prove_consistency(db, args.from_size, args.to_size))
    except DomainError as exc:
        return _fail(str(exc))
    print(json.dumps(dataclasses.asdict(proof), ensure_ascii=False, indent=2))
    return 0


def cmd_audit_export(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.errors import DomainError
    from ledger.integrity.bundle import ExportError, export_bundle
    from ledger.integrity.service import load_key

    try:
        verifier = load_key(db).verifier()
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    ledger = Ledger(db)
    try:
        info = export_bundle(db, ledger, args.out, verifier, args.until)
    except (DomainError, ExportError) as exc:
        return _fail(str(exc))
    finally:
        ledger.close()
    c = info.checkpoint
    print(f"exported {info.events} events and {info.checkpoints} checkpoints to {info.path}")
    print(f"up to checkpoint {c.origin} size {c.size} position {c.last_position} root {c.root}")
    return 0


def render_text(report: BundleReport) -> str:
    """Plain-text tables (tab-separated), with the checkpoint that proves them."""
    from ledger.annex import TOTAL_LABEL

    c = report.proven_by
    out = [f"verified: {report.events} records, {len(report.checkpoints)} signed checkpoints",
           f"key: {report.key}",
           f"proven by checkpoint: origin {c.origin}, size {c.size}, root {report.root}"]
    out += [f"warning: {w}" for w in report.warnings]
    for table in report.tables:
        out += ["", table.title, "序号\t项目名称\t实施单位/牵头单位\t财政资金(万元)\t评价等级"]
        out += [f"{r.seq}\t{r.subject_name}\t{r.unit_name}\t{r.funds}\t"
                f"{r.grade.label if r.grade else ''}" for r in table.rows]
        out.append(f"{TOTAL_LABEL}\t\t\t{table.total_funds}\t")
    return "\n".join(out)


def cmd_audit_verify(args: argparse.Namespace, db: Database) -> int:
    from ledger.integrity.verifier import BundleError, verify_bundle

    try:
        known = [path.read_text("utf-8") for path in args.known]
        report = verify_bundle(args.bundle, key=args.key, at=args.at, strict=args.strict,
                               known=known)
    except (BundleError, OSError) as exc:
        return _fail(str(exc))
    if args.plain:
        print(render_text(report))
        return 0
    from rich.console import Console
    from rich.table import Table

    from ledger.annex import TOTAL_LABEL

    console = Console()
    c = report.proven_by
    console.print(f"[green]verified[/green] {report.events} records, "
                  f"{len(report.checkpoints)} signed checkpoints (key {report.key})")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    caption = f"proven by checkpoint {c.origin} size {c.size} root {report.root}"
    for annex in report.tables:
        table = Table(title=annex.title, caption=caption)
        for header in ("序号", "项目名称", "实施单位/牵头单位", "财政资金(万元)", "评价等级"):
            table.add_column(header, overflow="fold",
                             justify="right" if header.startswith("财政") else "left")
        for r in annex.rows:
            table.add_row(str(r.seq), r.subject_name, r.unit_name, format(r.funds, "f"),
                          r.grade.label if r.grade else "")
        table.add_row(TOTAL_LABEL, "", "", format(annex.total_funds, "f"), "")
        console.print(table)
    console.print(caption, soft_wrap=True)
    return 0


def verify_log(db: Database) -> int:
    """The log half of `jixiao verify`: the event store against the sealed log, and every
    newer event against its MAC. 0 if all holds, else 1 with each problem named."""
    from ledger.application import Ledger
    from ledger.integrity.keys import events_key
    from ledger.integrity.sealer import verify_store
    from ledger.integrity.service import key_file, load_key

    signer = load_key(db) if key_file(db).exists() else None
    verifier = None if signer is None else signer.verifier()
    ledger = Ledger(db)
    try:
        report = verify_store(db, ledger, verifier,
                              events_key=None if signer is None else events_key(signer))
    except Exception as exc:  # e.g. the integrity tables were dropped: that fails too
        return _fail(f"cannot read the sealed log ({type(exc).__name__}: {exc}); its tables "
                     "are created by `jixiao migrate`")
    finally:
        ledger.close()
    if not report.ok:
        where = (f"first changed record at position {report.first_position}"
                 if report.first_position is not None else "the sealed log was changed")
        print(f"FAILED: {where}", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    signed = "signatures checked" if report.signatures_checked else (
        "signatures NOT checked: no key file")
    newer = "authenticated" if report.authenticated else "NOT authenticated: no key file"
    print(f"ok: {report.sealed} sealed records up to position {report.sealed_position} match "
          f"the event store; {report.checkpoints} checkpoints reproduced ({signed}); "
          f"{report.unsealed} newer events not sealed yet ({newer})")
    return 0
