"""The skeleton: health, readiness, metrics, errors, size limits, settings and logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from gateway.app import create_app
from gateway.logs import JsonFormatter, scrub
from gateway.settings import Settings, SettingsError
from tests.gateway.signing import TOKEN_SIGNING_KEY


class Echo(BaseModel):
    text: str


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, max_request_bytes=4096)
    app = create_app(settings)

    # Two routes of the test's own: one FastAPI parses a JSON body for, one with a bug.
    @app.post("/test/echo")
    def echo(body: Echo) -> Echo:
        return body

    @app.get("/test/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    with TestClient(app) as c:
        yield c


def _count(client: TestClient, route: str, method: str, status: int) -> float:
    line = f'satupintu_http_requests_total{{method="{method}",route="{route}",status="{status}"}}'
    for row in client.get("/metrics").text.splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    return 0.0


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
    assert "# TYPE satupintu_bank_retries_total counter" in text  # the bank clients' retries


def test_unknown_route_gets_documented_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/route", headers={"X-Request-ID": "abc123"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found"},
        "request_id": "abc123",
    }
    assert response.headers["X-Request-ID"] == "abc123"


def test_oversized_body_is_refused_with_413_an_id_and_a_count(client: TestClient) -> None:
    response = client.post("/healthz", content=b"x" * 5000, headers={"X-Request-ID": "big-1"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["request_id"] == "big-1"
    assert response.headers["X-Request-ID"] == "big-1"
    assert _count(client, "unmatched", "POST", 413) == 1


def _chunks(size: int) -> Iterator[bytes]:
    """A body sent chunked, with no Content-Length for the limit to check up front."""
    yield b'{"text": "'
    for _ in range(size // 1000):
        yield b"x" * 1000
    yield b'"}'


@pytest.mark.parametrize("path", ["/test/echo", "/v1/verify"])
def test_a_chunked_body_over_the_limit_is_413_not_400(client: TestClient, path: str) -> None:
    response = client.post(
        path, content=_chunks(6000), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["X-Request-ID"] == response.json()["request_id"]
    small = client.post(
        "/test/echo", content=_chunks(2000), headers={"Content-Type": "application/json"}
    )
    assert small.status_code == 200


def test_an_unexpected_error_is_a_500_with_an_id_and_a_count(client: TestClient) -> None:
    response = client.get("/test/bug")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["X-Request-ID"] == response.json()["request_id"]
    assert _count(client, "/test/bug", "GET", 500) == 1


@pytest.mark.parametrize(
    "given", [b"x" * 65, b"a b", "id\u00e9".encode("latin-1"), b"<script>", b""]
)
def test_a_long_or_odd_client_request_id_is_replaced(client: TestClient, given: bytes) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed.encode("latin-1") != given
    assert len(echoed) == 32 and echoed.isalnum()


def test_a_plain_client_request_id_is_kept(client: TestClient) -> None:
    given = "Terminal-7:2026.12.05_" + "a" * 42
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def test_production_refuses_plaintext_captures() -> None:
    with pytest.raises(SettingsError, match="SATUPINTU_ALLOW_PLAINTEXT_CAPTURES"):
        Settings(
            environment="production",
            allow_plaintext_captures=True,
            token_signing_key=TOKEN_SIGNING_KEY,
        )
    assert not Settings(
        environment="production", token_signing_key=TOKEN_SIGNING_KEY
    ).allow_plaintext_captures


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
