"""A NIK not in the register locks after as many failures as a registered one, so the
answers tell a prober nothing about the register."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session

from gateway.verification import lockout, repository
from gateway.verification.settings import IdentitySettings


def unknown_failures(
    *, session: Session, nik_hash: bytes, settings: IdentitySettings, now: dt.datetime
) -> int:
    since = now - dt.timedelta(hours=settings.lockout_window_hours)
    return repository.unknown_nik_failures_since(session, nik_hash=nik_hash, since=since)


def refuse_unknown_like_a_lockout(
    *, session: Session, nik_hash: bytes, settings: IdentitySettings, now: dt.datetime
) -> None:
    """A NIK not in the register locks after as many failures as a registered one, with a
    lockout reference of the same shape, so the answers tell the register nothing."""
    if unknown_failures(session=session, nik_hash=nik_hash, settings=settings, now=now) < (
        settings.lockout_attempts
    ):
        return
    lockout.refuse_if_locked("lock_" + hashlib.sha256(nik_hash).hexdigest()[:20])
