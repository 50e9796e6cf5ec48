"""The identity section of the gateway's one `Settings` class, kept beside the code reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from gateway.trust.anomalies import AnomalyPolicy
from matcher.index.settings import IndexSettings

_INDEX = IndexSettings()  # the matcher's measured defaults


_INDEX_FIELDS = {
    "finger_index_type",
    "finger_index_ivf_lists",
    "finger_index_ivf_probe",
    "finger_index_neighbours",
    "finger_index_shortlist",
    "finger_index_template_store",
}


class IdentitySettings(BaseModel):
    """Decision thresholds, token lifetime, lockout and fallback limits."""

    # 1:1 decisions accept a score whose false match rate is at most this (1 in 10,000).
    verify_target_fmr: float = Field(default=1e-4, gt=0, lt=1)
    # 1:N (cardless) accepts the best candidate only if the FPIR over the gallery searched
    # stays under this; FPIR ≈ N × FMR, so larger galleries need stronger evidence.
    identify_target_fpir: float = Field(default=1e-3, gt=0, lt=1)
    # De-duplication holds an enrollment for adjudication when a candidate's FPIR over the
    # whole gallery is below this. Two index fingers of the same person fuse to FMRs far
    # below 1e-9, so a strict value loses no real duplicate; looser values flood the queue
    # with the gallery's best-scoring impostors (measured on the synthetic demo register:
    # 1e-2 held a third of 80 new, distinct people).
    duplicate_target_fpir: float = Field(default=1e-4, gt=0, lt=1)
    # Verification tokens live this long (a payout follows the verify within seconds).
    token_ttl_seconds: int = Field(default=120, ge=5, le=3600)
    # Five failed biometric attempts for one NIK within 24 h lock it until a case worker acts.
    lockout_attempts: int = Field(default=5, ge=1)
    lockout_window_hours: int = Field(default=24, ge=1)
    # Failed attempts by one terminal (over any NIKs) within the lockout window after which
    # it may not try again: probing many people is an attack, not a bad day at the sensor.
    terminal_failure_limit: int = Field(default=20, ge=1)
    # Supervised fallback tokens per person per calendar month.
    fallback_per_month: int = Field(default=2, ge=0)
    # Supervised fallbacks one case worker may vouch for per (UTC) day.
    fallback_per_case_worker_per_day: int = Field(default=10, ge=0)
    # How long an ops supervisor's approval to register a case worker stays usable.
    case_worker_approval_hours: int = Field(default=24, ge=1, le=720)
    # Anomaly alerts: a terminal's events of one kind today above max(min, factor x its mean
    # over the baseline days before) raise an alert.
    anomaly_baseline_days: int = Field(default=14, ge=1)
    anomaly_factor: float = Field(default=3.0, gt=0)
    anomaly_min_events: int = Field(default=5, ge=0)
    # How often (s) queued household notifications (biometric updates) are sent.
    notification_interval_seconds: float = Field(default=5.0, gt=0)
    # Captures in clear (base64 `data`) are for development and tests only, and only when
    # asked for (`satupintu serve --dev-insecure-captures`); by default captures must arrive
    # HPKE-sealed and device-signed (`sealed`).
    allow_plaintext_captures: bool = False
    # Minimum capture quality (0-100) accepted at enrollment and at verification.
    enroll_min_quality: int = Field(default=40, ge=0, le=100)
    verify_min_quality: int = Field(default=20, ge=0, le=100)
    # Keep each enrolment's finger images (sealed, like templates) so the gallery can be
    # extracted again when the extractor changes (`satupintu templates re-extract`); without
    # them a new extractor means re-enrolling everyone it should apply to.
    keep_finger_captures: bool = True
    # Verifications decided at once in one gateway process (the rest wait their turn). They
    # are CPU work in Python, so more threads only queue for the GIL: with 4 in flight in one
    # process, one at a time used ~15% less CPU a verification than all 4 at once (in
    # process, SQLite). Two keep a core busy while the other waits on the database.
    verify_threads: int = Field(default=2, ge=1)
    # Prepared templates kept in memory for 1:1 (decrypted + precomputed descriptors).
    template_cache_size: int = Field(default=20_000, ge=0)
    # A fingerprint score calibration file (`satupintu calibrate` output); empty = the shipped
    # default. Recalibrating on the deployment's own sensors sharpens every reported FMR.
    finger_calibration_path: Path | None = None
    # Where index snapshots are written (relative paths are under the data directory).
    index_snapshot_name: str = "indexes"
    # How often (s) a process catches up with index events written by other processes.
    index_poll_seconds: float = Field(default=2.0, gt=0)
    # The fingerprint 1:N index (`matcher.index.settings.IndexSettings`, where each default is
    # explained). "flat" compares every enrolled code exactly: right for a register of tens
    # of thousands of fingers. A national register wants "ivf" (the README's 1:N rows give
    # the measured configurations); its centroids are learned at rebuild from the enrolled
    # codes and kept in the snapshot, so changing the type or list count means a rebuild.
    # By default the settings are those of the named profile that fits the register's size
    # (`matcher.index.settings.PROFILES`: "small" flat to 20k fingers, "regional" IVF to
    # 300k, "national" beyond), chosen again at every start; a named profile fixes one, and
    # setting any `finger_index_*` below fixes them all (the unset ones at their defaults).
    finger_index_profile: Literal["auto", "small", "regional", "national"] = "auto"
    finger_index_type: Literal["flat", "ivf"] = _INDEX.index_type
    finger_index_ivf_lists: int = Field(default=_INDEX.ivf_lists, ge=1)
    finger_index_ivf_probe: int = Field(default=_INDEX.ivf_probe, ge=1)
    finger_index_neighbours: int = Field(default=_INDEX.neighbours, ge=1)
    finger_index_shortlist: int = Field(default=_INDEX.shortlist, ge=1)
    finger_index_template_store: Literal["prepared", "compact"] = _INDEX.template_store
    # Where the fingerprint gallery lives. "embedded": in this process (one machine, no
    # cluster). "ray": split across `index_shards` Ray actors with `index_replicas` each,
    # on the Ray cluster at `index_ray_address` (empty: a local Ray started by the gateway);
    # needs the `cluster` extra. How and why: docs/cluster.md.
    index_backend: Literal["embedded", "ray"] = "embedded"
    index_ray_address: str | None = None
    index_shards: int = Field(default=2, ge=1)
    index_replicas: int = Field(default=2, ge=1)
    # A shard that has not answered by then is left out and the answer says so (ms).
    index_shard_deadline_ms: int = Field(default=2000, ge=1)

    def anomaly_policy(self) -> AnomalyPolicy:
        return AnomalyPolicy(
            baseline_days=self.anomaly_baseline_days,
            factor=self.anomaly_factor,
            min_events=self.anomaly_min_events,
        )

    def finger_index_settings(self) -> IndexSettings | None:
        """Settings fixed field by field, or None when a profile chooses them."""
        if not self.model_fields_set & _INDEX_FIELDS:
            return None
        return IndexSettings(
            index_type=self.finger_index_type,
            ivf_lists=self.finger_index_ivf_lists,
            ivf_probe=self.finger_index_ivf_probe,
            neighbours=self.finger_index_neighbours,
            shortlist=self.finger_index_shortlist,
            template_store=self.finger_index_template_store,
        )
