"""`satupintu serve --workers N`: one listening socket per process, connections spread."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from benchmarks.live import free_port
from gateway.serve import PortInUse, refuse_if_served, reuse_port_socket, serve


def test_processes_share_the_port_and_the_kernel_spreads_connections() -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gateway.serve import serve; "
            f"serve('127.0.0.1', {port}, 2, factory='tests.gateway.serve_app:create')",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        pids = set(_answers_of_new_connections(f"http://127.0.0.1:{port}/", count=24))
        assert len(pids) == 2  # 24 connections all on one process: 2 in 2**24
        assert str(server.pid) not in pids
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def _answers_of_new_connections(url: str, count: int) -> list[str]:
    """What each of `count` fresh connections was answered, once the server is up."""
    deadline = time.monotonic() + 30
    answers: list[str] = []
    while len(answers) < count:
        try:
            with httpx.Client() as client:  # a new connection each time
                answers.append(client.get(url).text)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    return answers


def test_a_second_socket_binds_the_same_port() -> None:
    port = free_port()
    first = reuse_port_socket("127.0.0.1", port)
    second = reuse_port_socket("127.0.0.1", port)
    try:
        assert first.getsockname() == second.getsockname()
    finally:
        first.close()
        second.close()


def test_a_second_gateway_on_a_served_port_refuses_to_start() -> None:
    port = free_port()
    first = reuse_port_socket("127.0.0.1", port)
    try:
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port}"):
            serve("127.0.0.1", port, 2, factory="tests.gateway.serve_app:create")
    finally:
        first.close()
    refuse_if_served("127.0.0.1", port)
