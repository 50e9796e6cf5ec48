"""All three adapters pass the conformance kit against their simulated banks."""

from __future__ import annotations

import pytest

from adapters.conformance import BankAdapterConformance, ConformanceTarget


class TestSimulatedAdapter(BankAdapterConformance):
    @pytest.fixture
    def target(self, simulated_target: ConformanceTarget) -> ConformanceTarget:
        return simulated_target


class TestIso20022Adapter(BankAdapterConformance):
    @pytest.fixture
    def target(self, iso_target: ConformanceTarget) -> ConformanceTarget:
        return iso_target


class TestSnapAdapter(BankAdapterConformance):
    @pytest.fixture
    def target(self, snap_target: ConformanceTarget) -> ConformanceTarget:
        return snap_target
