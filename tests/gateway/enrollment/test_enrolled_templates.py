"""The current templates a 1:1 verification compares against: one read, each opened once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from gateway.biometrics.engine import BiometricEngine
from gateway.enrollment import templates
from gateway.registry.service import find_person
from tests.gateway.enrollment.world import World


def test_templates_come_in_one_statement_and_are_opened_only_when_not_cached(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    adult = world.adults()[0]
    assert world.enroll(adult["nik"], seed=1) == "enrolled"
    engine = BiometricEngine(finger_calibration=world.engine.finger_calibration)  # cold cache
    opened: list[int] = []
    open_template = templates.open_template

    def counting_open(row: Any) -> bytes:
        opened.append(row.position)
        return open_template(row)

    monkeypatch.setattr(templates, "open_template", counting_open)
    with world.session_factory() as session:
        person_id = find_person(session=session, nik=adult["nik"]).id
        statements: list[str] = []
        bind = session.get_bind()

        def seen(*args: Any) -> None:
            statements.append(args[2])

        event.listen(bind, "before_cursor_execute", seen)
        try:
            first = templates.enrolled_templates(
                session=session, engine=engine, person_id=person_id, modality="finger"
            )
            first_statements = len(statements)
            again = templates.enrolled_templates(
                session=session, engine=engine, person_id=person_id, modality="finger"
            )
        finally:
            event.remove(bind, "before_cursor_execute", seen)
    assert sorted(first) == [2, 7]
    assert first_statements == 1
    assert len(statements) == 2  # the second call: one read again, nothing opened
    assert sorted(opened) == [2, 7]
    assert all(again[position] is first[position] for position in first)
