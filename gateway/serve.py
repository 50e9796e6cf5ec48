"""Serving the gateway on several processes, each with a listening socket of its own.

uvicorn's `--workers` shares one listening socket among its processes: whichever is awake
accepts, so a handful of long-lived connections (agent terminals behind a NAT, a load
balancer's pool, Locust's users) can all land on one process while the others idle; two
workers under 8 Locust users were seen at 106% and 7% CPU. Here every process binds its own
socket with SO_REUSEPORT and the kernel spreads new connections across them by hash.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

APP = "gateway.app:create_app_from_env"


class PortInUse(RuntimeError):
    """Another process (another gateway, perhaps) already listens on the address."""


def refuse_if_served(host: str, port: int) -> None:
    """Fail when something already listens on host:port.

    The workers' sockets share the port with SO_REUSEPORT, so a second gateway started on
    it would bind beside the first without an error and the kernel would split the
    terminals between two gateways. A plain bind, without SO_REUSEPORT, is refused by any
    socket holding the port, whoever set it up.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"{host}:{port} is already served by another process ({exc.strerror}); "
                "stop it or choose another port"
            ) from None


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind to the same address too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(factory: str, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        factory, factory=True, host=host, port=port, log_config=None, access_log=False
    )


def _worker(factory: str, sock: socket.socket, host: str, port: int) -> None:
    uvicorn.Server(_config(factory, host, port)).run(sockets=[sock])


def serve(host: str, port: int, workers: int, factory: str = APP) -> None:
    """Run `workers` processes of the app `factory` makes (`module:callable`) on host:port
    until one exits or we are told to stop.

    One process runs uvicorn in this process; more are children of this one. If a child
    dies the others are stopped too and the exit code says so: restarting is the process
    manager's job (systemd, the container runtime), as for a single process.
    """
    refuse_if_served(host, port)
    if workers <= 1:
        uvicorn.Server(_config(factory, host, port)).run()
        return
    context = multiprocessing.get_context("spawn")
    sockets = [reuse_port_socket(host, port) for _ in range(workers)]
    children = [
        context.Process(target=_worker, args=(factory, sock, host, port), name=f"gateway-{index}")
        for index, sock in enumerate(sockets)
    ]
    for child in children:
        child.start()
    for sock in sockets:
        sock.close()  # each child holds its own copy

    def stop(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # uvicorn finishes in-flight requests on SIGTERM

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait([child.sentinel for child in children])
    stop(signal.SIGTERM, None)
    for child in children:
        child.join()
    failed = [child for child in children if child.exitcode not in (0, -signal.SIGTERM)]
    for child in failed:
        log.error("gateway process %s exited with %s", child.name, child.exitcode)
    if failed:
        sys.exit(1)
