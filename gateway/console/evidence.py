"""What an adjudicator sees of two people's biometrics: minutiae and iris-code masks.

Templates are opened from their envelopes only to be drawn (positions, directions, which
iris-code bits were usable); nothing leaves the page but the drawing, and the drawing holds
no image a sensor took.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from gateway.biometrics import repository as template_repository
from gateway.biometrics.models import BiometricTemplate, open_template
from gateway.enrollment import repository
from gateway.registry import repository as registry_repository
from matcher.fingerprint import storage as finger_storage
from matcher.iris import storage as iris_storage
from matcher.iris.types import ANGLES, BITS_PER_SAMPLE, RINGS

# Length of the line showing a minutia's direction, in template pixels (about a ridge period
# and a half at 500 dpi).
TAIL_PX = 14.0


@dataclass(frozen=True)
class FingerDrawing:
    position: int
    width: int
    height: int
    # (x, y, x of the direction's end, y of its end, kind: 1 ending, 2 bifurcation)
    minutiae: list[tuple[float, float, float, float, int]]


@dataclass(frozen=True)
class IrisDrawing:
    position: int
    rings: int
    angles: int
    # (ring, angle) of every sample whose bits the mask marks unusable
    masked: list[tuple[int, int]]
    usable_share: float


@dataclass(frozen=True)
class Evidence:
    fingers: list[FingerDrawing]
    irises: list[IrisDrawing]


def _drawings(templates: list[BiometricTemplate]) -> Evidence:
    fingers: list[FingerDrawing] = []
    irises: list[IrisDrawing] = []
    for template in templates:
        if template.modality == "finger":
            view = finger_storage.loads(open_template(template))[0]
            fingers.append(
                FingerDrawing(
                    position=template.position,
                    width=view.width,
                    height=view.height,
                    minutiae=[
                        (
                            float(x),
                            float(y),
                            float(x + TAIL_PX * math.cos(d)),
                            float(y - TAIL_PX * math.sin(d)),
                            int(k),
                        )
                        for x, y, d, k in zip(
                            view.x, view.y, view.direction, view.kind, strict=True
                        )
                    ],
                )
            )
        elif template.modality == "iris":
            code = iris_storage.from_bytes(open_template(template))[0]
            bits = np.unpackbits(code.mask).reshape(ANGLES, RINGS, BITS_PER_SAMPLE)
            usable = bits.all(axis=2)
            irises.append(
                IrisDrawing(
                    position=template.position,
                    rings=RINGS,
                    angles=ANGLES,
                    masked=[(int(r), int(a)) for a, r in zip(*np.nonzero(~usable), strict=True)],
                    usable_share=float(usable.mean()),
                )
            )
    return Evidence(fingers, irises)


def of_enrollment(session: Session, enrollment_reference: str) -> Evidence:
    """The held enrolment's own captures."""
    enrollment = repository.enrollment_by_reference(session, enrollment_reference)
    if enrollment is None:
        return Evidence([], [])
    return _drawings(list(template_repository.templates_of_enrollment(session, enrollment.id)))


def of_person(session: Session, person_reference: str) -> Evidence:
    """A candidate's active templates."""
    person = registry_repository.person_by_reference(session, person_reference)
    if person is None:
        return Evidence([], [])
    return _drawings(list(template_repository.active_templates(session, person.id)))
