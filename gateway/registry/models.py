"""The single register: households (KPM), their members, and programme memberships."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.crypto.registry import SealedBytes
from gateway.db import Base, UtcDateTime, utcnow

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "in_law", "other")
SCHOOL_LEVELS = ("primary", "junior", "senior")


class Household(Base):
    """A beneficiary family, keyed by its family card number (KK)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    family_card_number: Mapped[str] = mapped_column(String(16), unique=True)
    province_code: Mapped[str] = mapped_column(String(2))
    regency_code: Mapped[str] = mapped_column(String(2))
    district_code: Mapped[str] = mapped_column(String(2))
    graduated: Mapped[bool] = mapped_column(Boolean, default=False)
    graduated_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_households_region", "province_code", "regency_code"),)

    @property
    def region(self) -> str:
        return self.province_code + self.regency_code


class Person(Base):
    """A household member. The NIK is stored only encrypted, found by its keyed hash."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nik_ciphertext: Mapped[bytes] = mapped_column(SealedBytes)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    relation: Mapped[str] = mapped_column(String(16))
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    school_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    severe_disability: Mapped[bool] = mapped_column(Boolean, default=False)
    deceased_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # Set when adjudication found this record to be a duplicate of another person.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id"), nullable=True, default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ProgrammeMembership(Base):
    """A household's membership of a programme (the payouts domain defines the programmes)."""

    __tablename__ = "programme_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    programme_code: Mapped[str] = mapped_column(String(32))
    since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (UniqueConstraint("household_id", "programme_code"),)
