"""Retries keep the gateway reference, renew the message id, back off, and then give up."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from adapters.base import AccountRef, OutcomeUnknown, TransferRequest, TransferState
from adapters.conformance import ConformanceTarget
from adapters.iso20022.client import Iso20022Adapter
from adapters.iso20022.server import create_bank_app
from adapters.transport import InProcessTransport

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"}


class Flaky(httpx.BaseTransport):
    """Fails the first `failures` requests the way networks do, then forwards to the bank."""

    def __init__(self, inner: httpx.BaseTransport, failures: list[str]) -> None:
        self.inner = inner
        self.failures = failures
        self.seen: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.read())
        if self.failures:
            kind = self.failures.pop(0)
            if kind == "reset":
                raise httpx.RemoteProtocolError("connection reset by peer", request=request)
            if kind == "timeout":
                raise httpx.ReadTimeout("read timed out", request=request)
            return httpx.Response(503, request=request)
        return self.inner.handle_request(request)


def _adapter(target: ConformanceTarget, failures: list[str]) -> tuple[Iso20022Adapter, Flaky]:
    app = create_bank_app(target.bank, faults=target.faults, sleep=target.clock.sleep)
    flaky = Flaky(InProcessTransport(app), failures)
    waits: list[float] = []
    adapter = Iso20022Adapter(
        base_url="http://bank.test",
        settlement_account=AccountRef(target.bank.bank_code, target.bank.settlement_account),
        transport=flaky,
        sleep=waits.append,
        clock=target.clock,
    )
    adapter.waits = waits  # type: ignore[attr-defined]
    return adapter, flaky


def test_retries_keep_the_reference_and_renew_the_message_id(
    iso_target: ConformanceTarget,
) -> None:
    adapter, flaky = _adapter(iso_target, ["reset", "503"])
    result = adapter.submit(TransferRequest("RETRY-1", 600_000, iso_target.creditor))
    assert result.state is TransferState.SETTLED
    documents = [etree.fromstring(body) for body in flaky.seen]
    references = {d.findtext(".//p:EndToEndId", namespaces=NS) for d in documents}
    message_ids = [d.findtext(".//p:MsgId", namespaces=NS) for d in documents]
    assert references == {"RETRY-1"}
    assert len(set(message_ids)) == 3
    first, second = adapter.waits  # type: ignore[attr-defined]
    assert 0.2 <= first <= 0.4 and 0.4 <= second <= 0.6  # doubling backoff plus jitter
    assert iso_target.bank.bookings("RETRY-1") == 1


def test_exhausted_retries_are_an_unknown_outcome(iso_target: ConformanceTarget) -> None:
    adapter, flaky = _adapter(iso_target, ["timeout", "timeout", "timeout"])
    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        adapter.submit(TransferRequest("RETRY-2", 600_000, iso_target.creditor))
    assert len(flaky.seen) == 3
    assert iso_target.bank.lookup("RETRY-2") is None
