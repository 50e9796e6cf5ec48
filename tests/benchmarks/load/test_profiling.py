"""The in-process benchmark's CPU profile sees the work the app hands to worker threads."""

from __future__ import annotations

import asyncio
import pstats
from pathlib import Path

import anyio.to_thread

from benchmarks.load import profiling
from benchmarks.load.profiling import ThreadProfiler


def _spin_on_a_worker_thread() -> int:
    return sum(i * i for i in range(200_000))


def test_work_on_anyio_worker_threads_is_profiled_and_written(tmp_path: Path) -> None:
    original = anyio.to_thread.run_sync

    async def wave() -> None:
        with ThreadProfiler() as profiler:
            await anyio.to_thread.run_sync(_spin_on_a_worker_thread)
        profiler.write(tmp_path / "phase")

    asyncio.run(wave())
    stats = pstats.Stats(str(tmp_path / "phase.prof"))
    names = {name for _file, _line, name in stats.stats}  # type: ignore[attr-defined]
    assert "_spin_on_a_worker_thread" in names
    text = (tmp_path / "phase.txt").read_text(encoding="utf-8")
    assert text.startswith("=== share of CPU time")
    assert "_spin_on_a_worker_thread" in text
    assert anyio.to_thread.run_sync is original  # unwrapped again


def test_functions_are_grouped_by_package() -> None:
    package = profiling._package
    assert package("~") == "C builtins and extension methods"
    assert package("/v/lib/python3.11/site-packages/sqlalchemy/engine/base.py") == "sqlalchemy"
    assert package("/checkout/gateway/payouts/flow.py") == "gateway/payouts"
    assert package("/usr/lib/python3.11/asyncio/events.py") == "Python standard library"
