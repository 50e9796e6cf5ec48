"""Index change events: written with the template change, applied to the in-memory index."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime, utcnow


class IndexEvent(Base):
    """ "Person X's enrolled templates changed": the applier re-reads them from the database."""

    __tablename__ = "index_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    op: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
