"""Rows of the trust domain: biometric updates, case-worker approvals, notifications, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime, utcnow


class BiometricUpdate(Base):
    """A change to an enrolled person's biometrics: proven by their own match, or held for a
    case worker of their region and then a supervisor (four eyes)."""

    __tablename__ = "biometric_updates"
    __table_args__ = (Index("ix_biometric_updates_terminal_at", "terminal_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # The person's home region (province + regency): whose case workers may review it.
    region: Mapped[str] = mapped_column(String(4))
    terminal_id: Mapped[str] = mapped_column(String(64))
    # self_proven | awaiting_case_worker | awaiting_supervisor | approved | refused
    status: Mapped[str] = mapped_column(String(24), index=True)
    # The fused FMR of the request's captures against the current templates (None: none).
    proof_fmr: Mapped[float | None] = mapped_column(Float, nullable=True)
    case_worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_worker_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_worker_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    supervisor_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    supervisor_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseWorkerApproval(Base):
    """An ops supervisor's signed approval to register one case worker's fingers in a region;
    single use, short-lived."""

    __tablename__ = "case_worker_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    region: Mapped[str] = mapped_column(String(4))
    supervisor_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CashOutApproval(Base):
    """A supervisor's approval that a supervised-fallback token may be paid as cash-out."""

    __tablename__ = "cash_out_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    supervisor_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class NotificationEvent(Base):
    """An outbox row: something the household must be told, sent by a notification adapter."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AnomalyAlert(Base):
    """A terminal whose count of one kind of sensitive event today jumped above its baseline."""

    __tablename__ = "anomaly_alerts"
    __table_args__ = (
        UniqueConstraint("terminal_id", "kind", "day", name="uq_anomaly_alerts_terminal_kind_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    # out_of_region_payout | biometric_update | fallback | failed_attempt
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
