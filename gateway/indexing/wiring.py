"""Hooks `gateway.app` calls for the indexes' lifecycle: build, load before ready, save at stop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics.engine import BiometricEngine
from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.settings import Settings
from matcher.fingerprint.calibration import Calibration

log = logging.getLogger("gateway.indexing")


def build_applier(settings: Settings, session_factory: sessionmaker[Session]) -> IndexApplier:
    """The indexes as the settings configure them, not loaded yet (`IndexApplier.load`)."""
    calibration = (
        Calibration.load(settings.finger_calibration_path)
        if settings.finger_calibration_path is not None
        else None
    )
    engine = BiometricEngine(
        cache_size=settings.template_cache_size, finger_calibration=calibration
    )
    factory = IdentifierFactory(
        finger_calibration=engine.finger_calibration,
        finger_settings=settings.finger_index_settings(),
        finger_profile=settings.finger_index_profile,
    )
    snapshot_dir = settings.data_dir / settings.index_snapshot_name
    if settings.index_backend == "ray":
        factory = _cluster_factory(settings, factory, snapshot_dir)
    return IndexApplier(
        session_factory=session_factory,
        engine=engine,
        factory=factory,
        snapshot_dir=snapshot_dir,
    )


def _cluster_factory(
    settings: Settings, base: IdentifierFactory, snapshot_dir: Path
) -> IdentifierFactory:
    """The fingerprint gallery on Ray shards: imported only here, so the embedded default
    runs without Ray installed."""
    import ray

    from gateway.indexing.cluster.factory import ClusterIdentifierFactory

    if not ray.is_initialized():
        # A Ray started here shares the machine with the gateway: its workers (the shards)
        # must not run 15 steps nicer than the gateway, as Ray makes them by default, or
        # they get a fraction of the CPU whenever anything else is busy. A cluster's nodes
        # run only Ray, and keep its setting.
        local: dict[str, Any] = (
            {} if settings.index_ray_address else {"_system_config": {"worker_niceness": 0}}
        )
        ray.init(address=settings.index_ray_address, include_dashboard=False, **local)
    return ClusterIdentifierFactory(
        base=base,
        shards=settings.index_shards,
        replicas=settings.index_replicas,
        deadline_s=settings.index_shard_deadline_ms / 1000.0,
        snapshot_dir=snapshot_dir,
    )


def start(app: FastAPI, settings: Settings, session_factory: sessionmaker[Session]) -> None:
    """Load every index (snapshot + replay, or rebuild) before the gateway reports ready."""
    indexes = build_applier(settings, session_factory)
    indexes.engine.warm_up()
    report = indexes.load()
    log.info(
        "indexes loaded",
        extra={"sources": report.sources, "replayed": report.replayed, "persons": report.persons},
    )
    indexes.start_polling(settings.index_poll_seconds)
    app.state.biometrics = indexes.engine
    app.state.indexes = indexes


def stop(app: FastAPI) -> None:
    """Stop polling and write snapshots, so the next start replays only what follows."""
    indexes: IndexApplier | None = getattr(app.state, "indexes", None)
    if indexes is None:
        return
    indexes.stop()
    try:
        indexes.save()
    except OSError:
        log.exception("index snapshot not written; the next start rebuilds or replays more")
