"""Console sign-in: an operator's password credential and their browser sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime, utcnow


class ConsoleAccount(Base):
    """The password an operator signs in to the console with (the ops API takes their key).

    One row per operator of `operators`: the console adds a way in, never another identity,
    so role and revocation stay where the API reads them."""

    __tablename__ = "console_accounts"

    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), primary_key=True)
    # `scrypt$n$r$p$salt$hash` (gateway.console.passwords), never the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    # The language the operator reads the console in: `id` or `en`.
    language: Mapped[str] = mapped_column(String(2), default="id")
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256, so a
    copy of the database signs no one in."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    # Every form of this session carries it; a forged cross-site form cannot know it.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
