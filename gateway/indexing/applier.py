"""The database-first index lifecycle: snapshot at start-up, replay events, rebuild if needed.

The database is the source of truth. Every change of a person's enrolled templates writes an
`index_events` row in the same transaction; this applier is the only writer of the in-memory
identifiers. It replays events in id order, each as "re-read this person's active templates
and upsert (or remove) them", which is idempotent, so replaying an event twice is harmless.
At start-up it loads each modality's snapshot (which records the last event applied) and
replays the rest; a missing or invalid snapshot is rebuilt from the stored templates.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import Modality
from gateway.biometrics.engine import BiometricEngine, ModalityUnavailable
from gateway.biometrics.models import BiometricTemplate, open_template
from gateway.indexing import repository
from gateway.indexing.identifiers import IdentifierFactory, load_snapshot, save_snapshot
from gateway.registry import repository as registry_repository
from matcher.index.base import Enrolment, IndexEvent, RegionCode, SearchResult, SnapshotError

log = logging.getLogger("gateway.indexing")


_EVENT_PAGE = 500


def region_of(code: str) -> RegionCode:
    """A household's 4-digit province + regency code as the index's region."""
    return RegionCode(province=int(code[:2]), regency=int(code[2:4]) or None)


@dataclass
class LoadReport:
    """How each modality's index came up: from a snapshot, or rebuilt, and events replayed."""

    sources: dict[str, str] = field(default_factory=dict)
    replayed: int = 0
    persons: dict[str, int] = field(default_factory=dict)


class IndexApplier:
    """Owns the identifiers of every modality and is the only code that writes to them."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        engine: BiometricEngine,
        factory: IdentifierFactory,
        snapshot_dir: Path | None,
    ) -> None:
        self.session_factory = session_factory
        self.engine = engine
        self.factory = factory
        self.snapshot_dir = snapshot_dir
        # IVF identifiers need centroids, learned from the register: `load` builds those.
        self.identifiers: dict[Modality, Any] = {
            m: factory(m) for m in factory.modalities if not factory.needs_centroids(m)
        }
        self._write = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ queries

    def search(
        self,
        modality: Modality,
        probe: Mapping[int, Any],
        *,
        region: RegionCode | None,
        limit: int = 5,
        fallback: bool = True,
    ) -> SearchResult:
        identifier = self.identifiers.get(modality)
        if identifier is None:
            raise ModalityUnavailable(f"1:N search by {modality} is not available.")
        if len(identifier) == 0:  # nobody enrolled yet: nothing to search
            return SearchResult(
                candidates=(), gallery_size=0, scope=region, widened=False, shortlist_size=0
            )
        wrapped = {pos: self.factory.entry(modality, t) for pos, t in probe.items()}
        if region is not None and identifier.persons_in(region) == 0:
            # Nobody enrolled in the terminal's region: the search is nationwide at once.
            if not fallback:
                return SearchResult(
                    candidates=(), gallery_size=0, scope=region, widened=False, shortlist_size=0
                )
            national: SearchResult = identifier.search(wrapped, region=None, limit=limit)
            return dataclasses.replace(national, scope=region, widened=True)
        result: SearchResult = identifier.search(
            wrapped, region=region, limit=limit, fallback=fallback
        )
        return result

    def gallery_size(self, modality: Modality) -> int:
        identifier = self.identifiers.get(modality)
        return 0 if identifier is None else len(identifier)

    # ------------------------------------------------------------ lifecycle

    def snapshot_path(self, modality: Modality) -> Path | None:
        """Where a modality's snapshot lives; None when snapshots are off or unsupported."""
        if self.snapshot_dir is None:
            return None
        return self.snapshot_dir / f"{modality}.snapshot"

    def load(self, progress: Callable[[str, int, int | None], None] | None = None) -> LoadReport:
        """Snapshot (or rebuild) every modality, then replay the events after it."""
        report = LoadReport()
        with self._write:
            self._fit()
            for modality in self.factory.modalities:
                path = self.snapshot_path(modality)
                if path is not None and path.exists():
                    try:
                        self.identifiers[modality] = load_snapshot(modality, path, self.factory)
                        report.sources[modality] = "snapshot"
                        continue
                    except SnapshotError as exc:
                        log.warning(
                            "index snapshot refused, rebuilding",
                            extra={"modality": modality, "reason": exc.code},
                        )
                self.identifiers[modality] = self._rebuild(modality, progress)
                report.sources[modality] = "rebuilt"
            report.replayed = self._catch_up_locked()
            report.persons = {m: len(i) for m, i in self.identifiers.items()}
        return report

    def rebuild(self, progress: Callable[[str, int, int | None], None] | None = None) -> None:
        with self._write:
            self._fit()
            for modality in self.factory.modalities:
                self.identifiers[modality] = self._rebuild(modality, progress)
            self._catch_up_locked()

    def _fit(self) -> None:
        """Index settings for the register's size (when the factory follows a profile)."""
        with self.session_factory() as session:
            self.factory.fit(template_repository.count_active_templates(session, "finger"))

    def _rebuild(
        self, modality: Modality, progress: Callable[[str, int, int | None], None] | None
    ) -> Any:
        """A fresh identifier from every active template in the database."""
        with self.session_factory() as session:
            centroids = None
            if self.factory.needs_centroids(modality):
                log.info("learning IVF centroids", extra={"modality": modality})
                centroids = self.factory.finger_centroids(
                    self._template(row)
                    for row, _region in template_repository.all_active_templates(session)
                    if row.modality == modality
                )
            identifier = self.factory(modality, centroids)
            last = repository.last_event_id(session)
            current: int | None = None
            region = ""
            samples: dict[int, Any] = {}
            done = 0
            for row, row_region in template_repository.all_active_templates(session):
                if row.modality != modality:
                    continue
                if row.person_id != current:
                    if current is not None and samples:
                        identifier.upsert(Enrolment(current, region_of(region), samples))
                    current, region, samples = row.person_id, row_region, {}
                samples[row.position] = self._template(row)
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(modality, done, None)
            if current is not None and samples:
                identifier.upsert(Enrolment(current, region_of(region), samples))
        identifier.mark_applied(last)
        return identifier

    def _template(self, row: BiometricTemplate) -> Any:
        modality: Modality = "finger" if row.modality == "finger" else "iris"
        plain = open_template(row)
        return self.factory.entry(modality, self.engine.from_bytes(modality, plain))

    def catch_up(self) -> int:
        """Apply every event committed since the last one applied; returns how many."""
        with self._write:
            return self._catch_up_locked()

    def _catch_up_locked(self) -> int:
        after = min(i.last_event_id for i in self.identifiers.values())
        applied = 0
        with self.session_factory() as session:
            while True:
                page = repository.events_after(session, after, limit=_EVENT_PAGE)
                if not page:
                    break
                for event_id, person_id, _op in page:
                    self._apply_person(session, event_id, person_id)
                    after = event_id
                    applied += 1
        return applied

    def _apply_person(self, session: Session, event_id: int, person_id: int) -> None:
        """Bring one person's entries in every identifier to the database's current state."""
        person = registry_repository.person_by_id(session, person_id)
        rows = template_repository.active_templates(session, person_id) if person else []
        region = None
        if person is not None:
            household = registry_repository.household_by_id(session, person.household_id)
            region = region_of(household.region) if household is not None else None
        for modality, identifier in self.identifiers.items():
            samples = {r.position: self._template(r) for r in rows if r.modality == modality}
            enrolment = Enrolment(person_id, region, samples) if samples and region else None
            identifier.apply(
                [IndexEvent(event_id=event_id, person_id=person_id, enrolment=enrolment)]
            )

    def save(self) -> None:
        """Write every modality's snapshot (atomically, by the identifier)."""
        if self.snapshot_dir is None:
            return
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        for modality, identifier in self.identifiers.items():
            path = self.snapshot_path(modality)
            if path is None:
                continue
            own = getattr(identifier, "save_snapshots", None)
            if own is not None:  # a split gallery: each shard writes its own snapshot
                own()
            elif len(identifier) == 0:  # an empty gallery rebuilds instantly: nothing to keep
                path.unlink(missing_ok=True)
            else:
                save_snapshot(identifier, path)

    # ------------------------------------------------------------ polling

    def start_polling(self, interval: float) -> None:
        """Catch up with events written by other gateway processes every `interval` s."""

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.catch_up()
                except Exception:  # keep serving; the next round retries
                    log.exception("index catch-up failed")

        self._thread = threading.Thread(target=run, name="index-applier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
