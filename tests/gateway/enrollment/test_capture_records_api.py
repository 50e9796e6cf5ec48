"""Capture records over HTTP: finger image (ISO/IEC 19794-4) and iris image (19794-6) records,
built and sealed by the terminal client, enrol and verify; broken ones are refused naming
the record field."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from gateway.biometrics.captures import Opened, decode_captures
from gateway.biometrics.schemas import FingerCapture
from gateway.client import (
    GatewayKey,
    finger_image_record,
    iris_image_record,
    new_nonce,
    seal_capture,
)
from matcher.fingerprint import fmr, templates
from matcher.fingerprint.types import MinutiaSet
from matcher.records.payload import Compression
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.iris import render_eye
from matcher.synthetic.ridges import master_fingerprint
from tests.gateway.enrollment.test_enrollment_api import _register, enroll_http
from tests.gateway.enrollment.world import finger_record
from tests.gateway.signing import SignedClient, TerminalIdentity


@pytest.fixture(autouse=True)
def _calibration(monkeypatch: pytest.MonkeyPatch, finger_calibration: Path) -> None:
    monkeypatch.setenv("SATUPINTU_FINGER_CALIBRATION_PATH", str(finger_calibration))


@functools.cache
def finger_pixels(seed: int) -> NDArray[np.uint8]:
    return impression_image(master_fingerprint(seed), 1).image


def _sealed(
    record: bytes, terminal: TerminalIdentity, key: GatewayKey, nonce: str
) -> dict[str, object]:
    return seal_capture(
        record,
        gateway_key=key,
        terminal_id=terminal.id,
        nonce=nonce,
        device_id=terminal.device_id,
        device_key=terminal.device_key,
    )


def test_finger_and_iris_image_records_enrol_and_verify(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    nik = _register(ops_client, households=1)[0]["nik"]
    nonce = new_nonce()
    right = finger_image_record(finger_pixels(61), position=2)  # 2011 edition, WSQ
    # The left index at 1000 ppi, JPEG 2000, in the 2005 edition: the record's resolution
    # is what brings it back to the pipeline's 500 dpi.
    left_pixels = finger_pixels(62)
    doubled = cv2.resize(left_pixels, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    left = finger_image_record(
        doubled,
        position=7,
        resolution_dpi=1000,
        compression=Compression.JPEG2000,
        edition="iso19794-4:2005",
    )
    eye = iris_image_record(render_eye(8, 1).image, eye=1)
    response = terminal_client.post(
        "/v1/enrollments",
        json={
            "nik": nik,
            "fingers": [
                {
                    "position": 2,
                    "format": "iso19794-4",
                    "sealed": _sealed(right, terminal, gateway_key, nonce),
                },
                {
                    "position": 7,
                    "format": "iso19794-4",
                    "sealed": _sealed(left, terminal, gateway_key, nonce),
                },
            ],
            "irises": [
                {
                    "eye": "right",
                    "format": "iso19794-6",
                    "sealed": _sealed(eye, terminal, gateway_key, nonce),
                }
            ],
        },
        nonce=nonce,
    )
    assert response.status_code == 201, response.text
    captures = {c["capture"]: c for c in response.json()["captures"]}
    assert set(captures) == {"finger:2", "finger:7", "iris:right"}
    assert all(c["accepted"] for c in captures.values())

    # The same fingers later, from another device that sends PNG in the 2011 edition.
    nonce = new_nonce()
    probe = finger_image_record(finger_pixels(61), position=2, compression=Compression.PNG)
    verified = terminal_client.post(
        "/v1/verify",
        json={
            "mode": "1:1",
            "nik": nik,
            "fingers": [
                {
                    "position": 2,
                    "format": "iso19794-4",
                    "sealed": _sealed(probe, terminal, gateway_key, nonce),
                }
            ],
        },
        nonce=nonce,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["decision"] == "match", verified.text


def test_broken_capture_records_are_refused_naming_the_field(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    nik = _register(ops_client, households=1)[0]["nik"]
    good = finger_image_record(finger_pixels(63), position=2, compression=Compression.PNG)
    header = 16 + 4 + 9 + 5 + 1  # general header, length, capture header, no quality blocks
    bad_units = good[: header + 2] + b"\x07" + good[header + 3 :]
    wrong_finger = finger_image_record(finger_pixels(63), position=3)
    iris_as_finger = iris_image_record(render_eye(9, 1).image, eye=1, compression=Compression.PNG)
    cases = {
        "scale units": (bad_units, "representation[0].scale_units", "capture_record_invalid"),
        "cut short": (good[:-40], "representation[0].image_data", "capture_record_truncated"),
        "wrong finger": (wrong_finger, "representation", "capture_record_invalid"),
        "iris record": (iris_as_finger, "format_identifier", "capture_record_invalid"),
    }
    for name, (record, field, code) in cases.items():
        nonce = new_nonce()
        finger = {
            "position": 2,
            "format": "iso19794-4",
            "sealed": _sealed(record, terminal, gateway_key, nonce),
        }
        response = terminal_client.post(
            "/v1/enrollments", json={"nik": nik, "fingers": [finger]}, nonce=nonce
        )
        assert response.status_code == 422, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "capture_rejected", name
        (reason,) = error["details"]["captures"][0]["reasons"]
        assert reason["code"] == code, (name, reason)
        assert reason["message"].startswith(f"{field}:"), (name, reason)
    stated = {
        "position": 2,
        "format": "iso19794-4",
        "resolution_dpi": 500,
        "data": base64.b64encode(good).decode(),
    }
    response = terminal_client.post("/v1/enrollments", json={"nik": nik, "fingers": [stated]})
    assert response.status_code == 422
    assert "a record states its own" in response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_intake_uses_the_resolution_the_record_states() -> None:
    """A 1000 ppi record of a finger yields the template of the same finger at 500 dpi."""
    pixels = finger_pixels(64)
    doubled = cv2.resize(pixels, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    record = finger_image_record(
        doubled, position=2, resolution_dpi=1000, compression=Compression.PNG
    )
    capture = FingerCapture(position=2, format="iso19794-4", data=base64.b64encode(record))
    samples, _ = decode_captures([Opened("finger:2", capture, record)], min_quality=0)
    template = samples[0].template
    assert isinstance(template, MinutiaSet)
    assert (template.width, template.height) == (pixels.shape[1], pixels.shape[0])


@pytest.mark.parametrize("target", [fmr.ISO_2011, fmr.ANSI_2004])
def test_minutiae_records_of_every_format_verify(
    target: str,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    """Enrolled from ISO 2005 records, verified with the same fingers' 2011 or ANSI records."""
    nik = _register(ops_client, households=1)[0]["nik"]
    enroll_http(terminal_client, terminal, gateway_key, nik, seed=71)
    nonce = new_nonce()
    fingers = []
    for position in (2, 7):
        record, _ = templates.convert(finger_record(71 * 16 + position, 3, position), target)
        sealed = _sealed(record, terminal, gateway_key, nonce)
        fingers.append({"position": position, "format": "iso19794-2", "sealed": sealed})
    body = {"mode": "1:1", "nik": nik, "fingers": fingers}
    verified = terminal_client.post("/v1/verify", json=body, nonce=nonce)
    assert verified.status_code == 200, verified.text
    assert verified.json()["decision"] == "match", verified.text
