"""CPU profiles of an in-process payout wave: every thread the app runs on, and the shares.

cProfile alone sees only the thread that enabled it, while the gateway's sync routes and
dependencies run on anyio's worker threads; `ThreadProfiler` profiles each of those calls on
the thread that runs it. Profiles count `time.thread_time`, so a thread waiting for the GIL
or for PostgreSQL costs nothing (the kernel's share of its own syscalls does count).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread

_OWN_PACKAGES = ("gateway", "matcher", "adapters", "benchmarks")


class ThreadProfiler:
    """While entered: the event loop's thread and every `anyio.to_thread.run_sync` call."""

    def __init__(self) -> None:
        self.main = cProfile.Profile(time.thread_time)
        self.threads: list[cProfile.Profile] = []
        self._local = threading.local()
        self._run_sync = anyio.to_thread.run_sync

    def _profiled(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            profile = getattr(self._local, "profile", None)
            if profile is None:
                profile = self._local.profile = cProfile.Profile(time.thread_time)
                self.threads.append(profile)
            profile.enable()
            try:
                return func(*args)
            finally:
                profile.disable()

        return call

    def __enter__(self) -> ThreadProfiler:
        run_sync = self._run_sync

        async def profiled_run_sync(func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
            return await run_sync(self._profiled(func), *args, **kw)

        anyio.to_thread.run_sync = profiled_run_sync  # type: ignore[assignment]
        self.main.enable()
        return self

    def __exit__(self, *_: object) -> None:
        self.main.disable()
        anyio.to_thread.run_sync = self._run_sync

    def write(self, stem: Path) -> None:
        """`<stem>.prof` (pstats, snakeviz) and `<stem>.txt` (see `write_profile_text`)."""
        stats = pstats.Stats(self.main, stream=io.StringIO())
        for profile in self.threads:
            stats.add(profile)
        stats.dump_stats(str(stem.with_suffix(".prof")))
        write_profile_text(stats, stem.with_suffix(".txt"))


def _package(filename: str) -> str:
    """Where a function lives: an installed distribution, a package of this project (by
    subpackage), the standard library, or C (builtins and extension methods)."""
    if filename == "~":
        return "C builtins and extension methods"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    parts = Path(filename).parts
    for i, part in enumerate(parts):
        if part in _OWN_PACKAGES:  # wherever the checkout is
            return "/".join(parts[i : i + 2])
    return "Python standard library"


def package_shares(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Each package's share of the profile's own (exclusive) time, largest first."""
    own: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        own[_package(filename)] += tottime
    total = sum(own.values()) or 1.0
    return [(package, seconds / total) for package, seconds in own.most_common()]


def write_profile_text(stats: pstats.Stats, path: Path) -> None:
    """Shares by package, then the top functions by own and by cumulative time."""
    text = io.StringIO()
    text.write("=== share of CPU time (own time of each function) by package ===\n")
    for package, share in package_shares(stats):
        if share >= 0.001:
            text.write(f"{100 * share:5.1f}%  {package}\n")
    stats.stream = text  # type: ignore[attr-defined]
    for order in ("tottime", "cumulative"):
        text.write(f"\n=== CPU time, sorted by {order} ===\n")
        stats.sort_stats(order).print_stats(80)
    path.write_text(text.getvalue(), encoding="utf-8")
