"""One real gateway (uvicorn, its own SQLite file) and one Chromium for the console tests.

Chromium is Debian's package (`/usr/bin/chromium`, or SATUPINTU_CHROMIUM); Playwright never
downloads a browser here, and the tests skip with the reason where none is installed.
axe-core comes from its npm package at a pinned version, checked against its SHA-256, into
the git-ignored `.cache/` (fetched once by `npm pack`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.db import make_engine, make_session_factory
from gateway.payouts.programmes import EXAMPLE_CONFIG, load_catalogue
from gateway.settings import Settings
from tests.gateway.console.world import ConsoleWorld, seed

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path(os.environ.get("SATUPINTU_CHROMIUM", "/usr/bin/chromium"))
AXE_VERSION = "4.10.3"
AXE_SHA256 = "0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292"
AXE_CACHE = ROOT / ".cache" / "axe-core"
SCREENSHOTS = ROOT / "docs" / "console"
# Settings the tests need: a fast live refresh, a short lockout count, second signatures.
GATEWAY_ENV = {
    "SATUPINTU_ENVIRONMENT": "test",
    "SATUPINTU_CONSOLE_REFRESH_SECONDS": "1",
    "SATUPINTU_CONSOLE_SIGN_IN_ATTEMPTS": "3",
    # The register is seeded after the gateway starts: count it afresh on every page.
    "SATUPINTU_CONSOLE_REGISTER_COUNT_SECONDS": "0",
    "SATUPINTU_LOG_LEVEL": "WARNING",
    # Every decision on a payout in review waits for a supervisor here.
    "SATUPINTU_PAYOUT_REVIEW_SECOND_SIGNATURE_RUPIAH": "0",
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system Chromium, never a downloaded one."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core's browser script from its npm package, pinned and checked."""
    tarball = AXE_CACHE / f"axe-core-{AXE_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed once to fetch axe-core (apt-get install -y npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(AXE_CACHE)],
            check=True,
            capture_output=True,
            timeout=180,
        )
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert digest == AXE_SHA256, f"axe-core {AXE_VERSION} package does not match its SHA-256"
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        return io.TextIOWrapper(member, encoding="utf-8").read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """A gateway on a free port with a temporary SQLite database, seeded once."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    data_dir = tmp_path_factory.mktemp("console-gateway")
    port = _free_port()
    env = {**os.environ, **GATEWAY_ENV, "SATUPINTU_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the gateway did not start")
            time.sleep(0.2)
        settings = Settings(data_dir=data_dir, environment="test")
        previous = install_key_store(KeyStore.from_settings(settings, create=False))
        engine = make_engine(settings.resolved_database_url)
        world = seed(
            base_url=base_url,
            factory=make_session_factory(engine),
            catalogue=load_catalogue(EXAMPLE_CONFIG),
        )
        yield world
        engine.dispose()
        install_key_store(previous)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
