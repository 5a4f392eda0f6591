"""Rebuilding views from the log, a process per group of views.

A rebuild is bound by Python's CPU time (decoding events, deriving rows), and each view's
position is tracked on its own, so groups of views can be rebuilt side by side, each process
on a core of its own, with the same exactly-once guarantee as one process. The subject view,
the costliest, gets a process to itself: it is the rebuild's critical path, so the other
groups run at a lower priority and take the CPU it leaves (on a small machine they would
otherwise slow it down; measured: 8% faster on two cores). SQLite has one writer at a time:
one process there.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor

from ledger.application import Ledger
from ledger.orphans import exit_when_orphaned
from ledger.store import Database
from projections.projector import Runner, all_views

GROUPS = (("subjects",), ("event_index", "disclosures"))  # the first is the critical path
YIELDING = 10  # the niceness of the other groups' processes


def default_jobs(db: Database) -> int:
    return 2 if db.backend == "postgres" else 1


def rebuild(db: Database, names: Iterable[str] | None = None, *, jobs: int | None = None,
            progress: Callable[[int], None] | None = None) -> int:
    """Empty the views (all, or the named ones) and project the whole log into them again;
    returns the position every view then stands at. `progress` gets positions gained."""
    ledger = Ledger(db)
    runner = Runner(db, ledger)
    try:
        chosen = {v.name for v in runner.views if names is None or v.name in set(names)}
        runner.reset(chosen)
        groups = [[n for n in group if n in chosen] for group in GROUPS]
        groups = [g for g in groups if g]
        jobs = default_jobs(db) if jobs is None else jobs
        if jobs > 1 and len(groups) > 1:
            _side_by_side(db, runner, groups, jobs, chosen, progress)
        return runner.catch_up(progress=progress)  # what was appended meanwhile, all views
    finally:
        runner.close()
        ledger.close()


def _side_by_side(db: Database, runner: Runner, groups: list[list[str]], jobs: int,
                  chosen: set[str], progress: Callable[[int], None] | None) -> None:
    reached = 0
    with ProcessPoolExecutor(max_workers=min(jobs, len(groups)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(catch_up_views, db, group,
                               0 if set(group) & set(GROUPS[0]) else YIELDING, os.getpid())
                   for group in groups]
        while not all(f.done() for f in futures):
            time.sleep(0.5)
            if progress is not None:
                now = min(p for v, p in runner.tracked().items() if v in chosen)
                progress(max(0, now - reached))
                reached = max(reached, now)
        for future in futures:
            future.result()  # a failed group fails the rebuild (its view resumes next time)
    if progress is not None:
        progress(max(0, min(p for v, p in runner.tracked().items() if v in chosen) - reached))


def catch_up_views(db: Database, names: list[str], niceness: int = 0,
                   parent: int | None = None) -> int:
    """In a process of its own: catch the named views up with the log.

    The process ends when the views are caught up, so it never collects cyclic garbage:
    the catch-up pauses collection (projector.gc_paused), and resuming it would set off a full
    collection over every object the rebuild made just before they are all freed anyway
    (measured: about a second of a 27 s rebuild of 1M events).
    """
    if parent is not None:
        exit_when_orphaned(parent)
    gc.disable()
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    ledger = Ledger(db)
    runner = Runner(db, ledger, views=[v for v in all_views(db, ledger) if v.name in names])
    try:
        return runner.catch_up()
    finally:
        runner.close()
        ledger.close()
