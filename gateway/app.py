"""Application factory: `create_app(settings)` wires database, migrations, routes and metrics.

The one place that knows every domain: it mounts their routers and starts their workers, so
no domain reaches into another to wire it (the import contracts in pyproject.toml hold it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

import anyio
from fastapi import FastAPI

from gateway import health, migrate
from gateway.audit import endpoints as audit_endpoints
from gateway.console import wiring as console
from gateway.crypto import endpoints as key_endpoints
from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.db import make_engine, make_session_factory
from gateway.enrollment import endpoints as enrollment_endpoints
from gateway.errors import install_error_handlers
from gateway.indexing import wiring as indexes
from gateway.limits import BodySizeLimit
from gateway.logs import configure_logging
from gateway.metrics import Metrics, install_metrics
from gateway.payouts import endpoints as payout_endpoints
from gateway.payouts import wiring as payouts
from gateway.registry import endpoints as registry_endpoints
from gateway.settings import Settings
from gateway.terminals import endpoints as terminal_endpoints
from gateway.terminals import openapi
from gateway.terminals import wiring as security
from gateway.trust import endpoints as trust_endpoints
from gateway.trust.metrics import TrustCollector
from gateway.trust.notifications import LogSender, NotificationWorker
from gateway.verification import endpoints as verification_endpoints

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
            # The key ring first (production refuses to start without it), restored at stop.
            app.state.key_store = KeyStore.from_settings(settings)
            started.callback(install_key_store, install_key_store(app.state.key_store))
            engine = make_engine(settings.resolved_database_url)
            started.callback(engine.dispose)
            migrate.upgrade(engine)
            app.state.engine = engine
            app.state.session_factory = make_session_factory(engine)
            started.callback(payouts.stop, payouts.start(app, settings, app.state.session_factory))
            indexes.start(app, settings, app.state.session_factory)
            started.callback(indexes.stop, app)
            app.state.verify_limiter = anyio.CapacityLimiter(settings.verify_threads)
            notifier = NotificationWorker(
                app.state.session_factory, LogSender(), settings.notification_interval_seconds
            )
            notifier.start()
            started.callback(notifier.stop)
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
    app.state.identity_settings = settings
    security.install(app, settings)
    app.state.metrics.registry.register(TrustCollector(app.state))
    for router in (
        verification_endpoints.router,
        enrollment_endpoints.router,
        registry_endpoints.router,
        trust_endpoints.router,
        trust_endpoints.ops_router,
        payout_endpoints.router,
        payout_endpoints.ops_router,
        terminal_endpoints.router,
        key_endpoints.router,
        audit_endpoints.router,
    ):
        app.include_router(router)
    openapi.install(app)
    app.include_router(health.router)
    console.install(app, settings)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: settings from the environment, logs configured."""
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return create_app(settings)
