"""Region codes from NIKs and the readers–writer lock."""

from __future__ import annotations

import threading
import time

import pytest

from matcher.index.base import RegionCode, RegionError
from matcher.index.rwlock import ReadWriteLock


def test_region_from_nik_and_scope() -> None:
    region = RegionCode.from_nik("3174015508900003")
    assert region == RegionCode(31, 74)
    assert RegionCode.from_key(region.key) == region
    assert RegionCode(31).contains(region) and region.contains(region)
    assert not RegionCode(31, 71).contains(region)
    assert not RegionCode(32).contains(region)
    for bad in ("31740155089000", "31740155089000AB"):
        with pytest.raises(RegionError):
            RegionCode.from_nik(bad)
    with pytest.raises(RegionError):
        RegionCode(5)


def test_writer_waits_for_readers_and_blocks_new_ones() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    reading = threading.Event()

    def reader() -> None:
        with lock.read():
            reading.set()
            time.sleep(0.05)
            order.append("read")

    def writer() -> None:
        reading.wait()
        with lock.write():
            order.append("write")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["read", "write"]


def test_a_waiting_writer_goes_before_readers_that_come_after_it() -> None:
    """Writer preference: a stream of searches must not starve an enrolment."""
    lock = ReadWriteLock()
    order: list[str] = []
    second_reader_in = threading.Event()

    def writer() -> None:
        with lock.write():
            order.append("writer")

    def late_reader() -> None:
        with lock.read():
            order.append("late reader")
            second_reader_in.set()

    with lock.read():
        waiting = threading.Thread(target=writer)
        waiting.start()
        while not lock._waiting_writers:  # the writer is queued behind the first reader
            threading.Event().wait(0.001)
        late = threading.Thread(target=late_reader)
        late.start()
        # Readers share the lock, so without writer preference this one would enter now.
        assert not second_reader_in.wait(0.3)
    waiting.join(5)
    late.join(5)
    assert order == ["writer", "late reader"]
