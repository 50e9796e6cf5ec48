"""Application factory: `create_app(settings)` wires database, migrations, routes and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import FastAPI

from gateway import health, migrate
from gateway.console import wiring as console
from gateway.db import make_engine, make_session_factory
from gateway.errors import install_error_handlers
from gateway.indexing import wiring as identity
from gateway.limits import BodySizeLimit
from gateway.logs import configure_logging
from gateway.metrics import Metrics, install_metrics
from gateway.payouts import wiring as payouts
from gateway.settings import Settings
from gateway.terminals import wiring as security

log = logging.getLogger("gateway.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway; nothing touches the database until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Every part registers its own shutdown as it starts, so a start-up that fails half-way
        # stops what did start (a payout worker left running would drive payouts unsupervised).
        with ExitStack() as started:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            security.start(app, settings)
            started.callback(security.stop, app)
            engine = make_engine(settings.resolved_database_url)
            started.callback(engine.dispose)
            migrate.upgrade(engine)
            app.state.engine = engine
            app.state.session_factory = make_session_factory(engine)
            started.callback(payouts.stop, payouts.start(app, settings, app.state.session_factory))
            identity.start(app, settings, app.state.session_factory)
            started.callback(identity.stop, app)
            app.state.indexes_loaded = True
            started.callback(setattr, app.state, "indexes_loaded", False)
            log.info("gateway started", extra={"database": engine.dialect.name})
            yield
        log.info("gateway stopped")

    app = FastAPI(
        title="Satu Pintu gateway",
        version="0.1.0",
        summary="Biometric identity and cardless payout gateway for social assistance",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.indexes_loaded = False
    app.state.metrics = Metrics()
    install_error_handlers(app)
    # The last middleware added is the outermost: the size limit answers inside the request
    # id and metrics layer, so its refusals carry an id and are counted.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    install_metrics(app, app.state.metrics)
    # Routers are matched in the order they are added, each a scan of its routes: the
    # terminals' hot path (verify, then pay) comes first, health, ops and the console last.
    identity.install(app, settings)
    payouts.install(app)
    security.install(app, settings)
    app.include_router(health.router)
    console.install(app, settings)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: settings from the environment, logs configured."""
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(settings)
