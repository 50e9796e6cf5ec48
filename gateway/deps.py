"""Annotated dependency aliases used by every route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.db import unit_of_work
from gateway.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """The request is the unit of work: one commit after the route returns, before the reply."""
    with unit_of_work(request.app.state.session_factory) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
