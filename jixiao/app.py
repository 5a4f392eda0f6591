"""The service assembled: one Ledger and one ReadModel for the process, the regions' routing
table and any hot standbys, wired into the API (schema.app.build_app).

Only this layer knows every piece. The API sees the routing table and the standbys through
the small interfaces it declares (projections.rollup.RegionSource, schema.context.ReadRouter).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette

from jixiao.regions import RegionRegistry
from jixiao.replicas import ReplicaRouter
from jixiao.watch import IntegrityWatch, Leadership
from ledger.application import Ledger
from ledger.store import Database
from ledger.tokens import TokenStore
from projections.views import ReadModel
from schema.app import build_app
from schema.auth import RateLimit
from schema.context import READ_THREADS, WRITE_THREADS, Services
from schema.export_pool import ExportPool


def create_app(db: Database, *, dev: bool = False, read_threads: int = READ_THREADS,
               write_threads: int = WRITE_THREADS,
               rate_limit: RateLimit | str | None = "env",
               replicas: Sequence[Database] = (), body_timeout: float | None = None,
               checkpoint_every: float | None = None,
               check_views_every: float | None = None, one_of_many: bool = False,
               export_dir: Path | None = None, warm_pdf: bool = False) -> Starlette:
    """The app `jixiao serve` runs: commands to `db`, queries from `replicas` (hot standbys)
    once they have replayed the position asked for, other regions as routed from `db`.
    With intervals (seconds), its integrity watch signs checkpoints and checks the views
    against a replay of the sealed log while it runs (jixiao.watch); `one_of_many`: one of
    several worker processes, so the watch runs in whichever holds its leadership;
    `export_dir`: where the workers share rendered downloads; `warm_pdf`: prepare the CJK
    font at start (jixiao serve), so the first PDF does not wait for it."""
    ledger = Ledger(db)
    read = ReadModel(db, ledger)
    router = (ReplicaRouter(db, list(replicas), ledger=ledger, read_model=read)
              if replicas else None)
    # The routing table is opened on first use: most deployments never route a region.
    services = Services(ledger, read, regions=functools.partial(RegionRegistry, db),
                        read_threads=read_threads, write_threads=write_threads,
                        replicas=router, exports=ExportPool(shared=export_dir, warm_pdf=warm_pdf))
    app = build_app(services, TokenStore(db), dev=dev, rate_limit=rate_limit,
                    body_timeout=body_timeout)
    watch = IntegrityWatch(db, ledger, read, checkpoint_every=checkpoint_every,
                           check_views_every=check_views_every,
                           leadership=Leadership(db) if one_of_many else None)
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with serving(app):  # views caught up first, services closed last
            watch.start()
            try:
                yield
            finally:
                await asyncio.to_thread(watch.stop)

    app.router.lifespan_context = lifespan
    app.state.watch = watch
    return app
