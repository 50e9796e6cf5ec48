"""The `satupintu-bench` script: a clear message instead of a traceback without the extra."""

from __future__ import annotations


def main() -> None:
    """Run the benchmark commands, or name the extra that brings their dependencies."""
    try:
        from benchmarks.cli import bench_app
    except ModuleNotFoundError as exc:
        raise SystemExit(
            f"satupintu-bench needs the benchmark extra ({exc.name} is missing): "
            "pip install 'satupintu[bench]'"
        ) from exc
    bench_app()
