"""The skeleton: health, readiness, metrics, errors, size limits, settings and logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.logs import JsonFormatter, scrub
from gateway.settings import Settings, SettingsError


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, max_request_bytes=4096)
    with TestClient(create_app(settings)) as c:
        yield c


def test_healthz_and_readyz_answer(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "indexes": True}


def test_metrics_count_requests_per_route_template(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'satupintu_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert "satupintu_http_request_duration_seconds_bucket" in text


def test_unknown_route_gets_documented_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/route", headers={"X-Request-ID": "abc123"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found"},
        "request_id": "abc123",
    }
    assert response.headers["X-Request-ID"] == "abc123"


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    response = client.post("/healthz", content=b"x" * 5000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_production_refuses_plaintext_captures() -> None:
    with pytest.raises(SettingsError, match="SATUPINTU_ALLOW_PLAINTEXT_CAPTURES"):
        Settings(environment="production", allow_plaintext_captures=True)
    assert not Settings(environment="production").allow_plaintext_captures


def test_default_database_is_a_sqlite_file_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/satupintu.db"


def test_json_logs_carry_fields_and_never_a_nik() -> None:
    record = logging.makeLogRecord(
        {"msg": "lookup for 3201014506900001 failed", "levelname": "INFO", "terminal": "T1"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["terminal"] == "T1"
    assert "3201014506900001" not in line["msg"]
    assert scrub("id 1234567890123456789") == "id 1234567890123456789"
