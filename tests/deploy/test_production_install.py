"""The production install starts and serves: the wheel with only its PostgreSQL extra, and the
image's own install steps, each in a fresh virtual environment, until `/readyz` answers.

These run the real installer against the package index (uv's cache keeps a repeat run to a few
seconds); the gateway's first start compiles its numba kernels, which dominates the time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from benchmarks.live import free_port

ROOT = Path(__file__).resolve().parents[2]
BENCH_ONLY = ("psutil", "locust", "matplotlib", "pytest")

pytestmark = pytest.mark.slow


def _uv() -> str:
    """uv comes with the dev extra; without it this test fails rather than skips."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: install the dev extra"
    return found


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of an operator's shell: nothing pointing back at this checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and "SATUPINTU" not in k}
    env["PATH"] = f"{Path(_uv()).parent}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def _docker_daemon() -> str | None:
    """Why the image cannot be built here, or None when a Docker daemon answers."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker client on PATH"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return f"no Docker daemon answers `docker info`: {info.stderr.strip()[-200:]}"
    return None


@contextmanager
def _served(command: list[str], cwd: Path, port: int) -> Iterator[httpx.Response]:
    """Start `command`, wait for `/readyz` to answer 200, yield that answer, stop the server."""
    server = subprocess.Popen(
        command,
        cwd=cwd,
        env=_clean_env(SATUPINTU_DATA_DIR=str(cwd / "var"), SATUPINTU_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if answer.status_code == 200:
                    yield answer
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed gateway never became ready"
            time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _assert_production_only(venv: Path, cwd: Path) -> None:
    """The installed code is the wheel's, and no benchmark or development package came along."""
    python = str(venv / "bin" / "python")
    probe = (
        "import importlib.util, gateway, sys; "
        f"print(gateway.__file__); sys.exit(any(importlib.util.find_spec(m) for m in {BENCH_ONLY}))"
    )
    run = subprocess.run([python, "-c", probe], cwd=cwd, env=_clean_env(), capture_output=True)
    assert run.returncode == 0, f"a benchmark or dev package is installed: {run.stderr.decode()}"
    assert run.stdout.decode().startswith(str(venv))
    bench = subprocess.run(
        [str(venv / "bin" / "satupintu-bench"), "--help"], cwd=cwd, env=_clean_env(),
        capture_output=True,
    )  # fmt: skip
    assert bench.returncode != 0
    assert b"satupintu[bench]" in bench.stderr


def test_the_wheel_with_its_postgres_extra_serves(tmp_path: Path) -> None:
    uv, env = _uv(), _clean_env()
    dist = tmp_path / "dist"
    subprocess.run([uv, "build", "--quiet", "--wheel", "--out-dir", str(dist), str(ROOT)],
                   env=env, check=True)  # fmt: skip
    (wheel,) = dist.glob("satupintu-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=env,
                   check=True)  # fmt: skip
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         f"{wheel}[postgres]"],
        env=env, check=True,
    )  # fmt: skip
    _assert_production_only(venv, tmp_path)
    with _served([str(venv / "bin" / "satupintu"), "serve"], tmp_path, free_port()) as ready:
        assert ready.json()["checks"] == {"database": True, "indexes": True}


def test_the_image_steps_install_and_serve(tmp_path: Path) -> None:
    """The script the image's build stage runs (from requirements.lock), run here the same
    way, and its result served: the image's install holds even where no daemon exists."""
    venv = tmp_path / "opt"
    subprocess.run(
        ["sh", "deploy/install.sh", str(venv)], cwd=ROOT,
        env=_clean_env(PYTHON=sys.executable), check=True,
    )  # fmt: skip
    _assert_production_only(venv, tmp_path)
    with _served([str(venv / "bin" / "satupintu"), "serve"], tmp_path, free_port()) as ready:
        assert ready.json()["status"] == "ready"


def test_the_image_builds_and_serves(tmp_path: Path) -> None:
    """The image itself, built from the Dockerfile and run as an operator would."""
    missing = _docker_daemon()
    if missing is not None:
        pytest.skip(missing)
    port = free_port()
    tag = f"satupintu-install-test:{os.getpid()}"
    subprocess.run(["docker", "build", "--quiet", "-t", tag, str(ROOT)], check=True)
    try:
        command = ["docker", "run", "--rm", "-p", f"127.0.0.1:{port}:8000", tag]
        with _served(command, tmp_path, port) as ready:
            assert ready.json()["status"] == "ready"
    finally:
        subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True)
