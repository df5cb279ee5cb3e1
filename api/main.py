"""Builds the FastAPI app: settings, database (migrated on start), plan runner, routes."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, Optional

from fastapi import FastAPI

from . import _solve, console, errors, openapi_doc
from .config import Settings, get_settings
from .db import make_engine, session_factory, upgrade
from .jobs import Runner
from .routes import exports, health, me, orders, plans, printouts, publish, reference, workers
from .security import Protector

DESCRIPTION = """\
fangang plans the chartered coaches (点对点包车) that bring workers back to an industrial park.

* **HR agencies** submit headcounts (`/v1/orders`, JSON or CSV/XLSX upload), optionally with
  worker rosters, and see where and when their own workers board.
* **Park coordinators** keep the reference data (`/v1/reference`), plan (`/v1/plans`, a job),
  review, mark trips dispatched, re-plan, and export manifests, schedules and reports.

Every request carries `Authorization: Bearer KEY` (keys come from `fangang admin create-agency`
and `fangang admin create-coordinator`). Every error is JSON: `{"detail": "...", "problems": [...]}`.
Times are ISO 8601; without an offset they are read as Asia/Shanghai.
"""

log = logging.getLogger("fangang.api")


def create_app(settings: Optional[Settings] = None, *, solver: Optional[Callable[..., None]] = None) -> FastAPI:
    """The service; the database schema is upgraded and the plan runner started when it starts.

    ``solver`` replaces the solver process's entry point (:func:`api._solve.run`); it must be
    importable by name in a fresh process (tests use a deliberately slow one).
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.sqlalchemy_url())
        upgrade(engine)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.protector = Protector(settings.protection_key())
        runner = Runner(app.state.sessions, workers=settings.workers, dask_scheduler=settings.dask_scheduler,
                        heartbeat_seconds=settings.heartbeat_seconds, stale_seconds=settings.job_stale_seconds,
                        target=solver if solver is not None else _solve.run, memory_mb=settings.plan_memory_mb)
        app.state.runner = runner
        if settings.run_jobs:
            runner.start()
        try:
            yield
        finally:
            runner.stop()
            engine.dispose()

    app = FastAPI(title="fangang", version="1", description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[
                      {"name": "orders", "description": "HR agencies' headcounts and rosters"},
                      {"name": "plans", "description": "plan jobs, trips, dispatch and re-planning"},
                      {"name": "plan outputs", "description": "manifests, schedules, boarding lists, reports"},
                      {"name": "reference data", "description": "sites, depots, fleet, regions, policy, posts"},
                      {"name": "workers", "description": "workers agencies register to be matched to posts"},
                  ])
    errors.install(app)
    app.add_middleware(errors.BodySizeLimit, limit=settings.max_request_bytes)
    # printouts' manifests.pdf before exports' manifests.{fmt}
    for module in (health, me, reference, orders, workers, publish, plans, printouts, exports):
        app.include_router(module.router)
    console.install(app)
    openapi_doc.install(app)  # every answer documented as it is: errors, file types
    return app
