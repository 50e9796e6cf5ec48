"""Every ISO 20022 message the adapters and the bank server produce validates against the XSDs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from adapters.answers import Answer
from adapters.bank import SimulatedBank
from adapters.base import AccountRef, TransferKind, TransferRequest
from adapters.clock import ManualClock
from adapters.conformance import ConformanceTarget
from adapters.iso20022.pacs002 import build_pacs002
from adapters.iso20022.pacs004 import ReturnInstruction, build_pacs004
from adapters.iso20022.pacs008 import build_pacs008, read_pacs008
from adapters.iso20022.pacs028 import build_pacs028
from tests.adapters.wire import Recorder

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
DEBTOR = AccountRef("BRINIDJA", "1001000000001", "Satu Pintu")


def _schema(schemas: Path, message: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schemas / f"{message}.xsd")))


def _assert_valid(schemas: Path, message: str, document: bytes) -> None:
    schema = _schema(schemas, message)
    root = etree.fromstring(document)
    assert schema.validate(root), f"{message}: {schema.error_log}"


@pytest.mark.parametrize("kind", list(TransferKind))
@pytest.mark.parametrize("remittance", ["", "PKH tahap 1 2026"])
@pytest.mark.parametrize("expires_at", [None, NOW + timedelta(minutes=10, microseconds=7)])
def test_pacs008_validates(
    iso_schemas: Path, kind: TransferKind, remittance: str, expires_at: datetime | None
) -> None:
    transfer = TransferRequest(
        "PAY-2026-0001",
        1_250_000,
        AccountRef("BNINIDJA", "4004000000001", "Agen"),
        kind,
        remittance,
        expires_at,
    )
    document = build_pacs008(transfer, debtor=DEBTOR, message_id="SPCT-1", created=NOW)
    _assert_valid(iso_schemas, "pacs.008.001.08", document)
    read = read_pacs008(document).request.expires_at
    assert read == (expires_at.replace(microsecond=0) if expires_at else None)


@pytest.mark.parametrize(
    "answer",
    [
        Answer("PAY-1", "ACSC", 600_000, "BRIN0000000001", settled_at=NOW),
        Answer("PAY-1", "ACSP", 600_000, "BRIN0000000001"),
        Answer("PAY-1", "RJCT", 600_000, "BRIN0000000001", "AC04", "creditor account is closed"),
        Answer("PAY-1", "RVSD", 600_000, "BRIN0000000001", settled_at=NOW),
        Answer("PAY-1", "NOTF", reason="no transfer with this reference"),
    ],
    ids=["settled", "pending", "rejected", "reversed", "not-found"],
)
def test_pacs002_validates(iso_schemas: Path, answer: Answer) -> None:
    document = build_pacs002(
        answer,
        message_id="BRIN-1",
        original_message_id="SPCT-1",
        original_message="pacs.008.001.08",
        created=NOW,
    )
    _assert_valid(iso_schemas, "pacs.002.001.10", document)


def test_national_bank_codes_validate_as_clearing_members(iso_schemas: Path) -> None:
    transfer = TransferRequest("PAY-2026-0002", 90_000, AccountRef("BNI", "4004000000001"))
    debtor = AccountRef("BRI", "1001000000001", "Satu Pintu")
    document = build_pacs008(transfer, debtor=debtor, message_id="SPCT-2", created=NOW)
    _assert_valid(iso_schemas, "pacs.008.001.08", document)
    assert b"<MmbId>BNI</MmbId>" in document
    read = read_pacs008(document)
    assert (read.request.creditor.bank_code, read.debtor.bank_code) == ("BNI", "BRI")
    bank = SimulatedBank(bank_code="BRI", clock=ManualClock(NOW))
    _assert_valid(iso_schemas, "camt.053.001.09", bank.camt053(NOW.date()))


def test_pacs028_and_pacs004_validate(iso_schemas: Path) -> None:
    _assert_valid(
        iso_schemas, "pacs.028.001.05", build_pacs028("PAY-1", message_id="SPSR-1", created=NOW)
    )
    instruction = ReturnInstruction("SPRT-1", "PAY-1", "PAY-1-R", 600_000, "wrong family")
    _assert_valid(iso_schemas, "pacs.004.001.09", build_pacs004(instruction, created=NOW))


def test_camt053_validates_with_returns_and_when_empty(iso_schemas: Path) -> None:
    clock = ManualClock(NOW)
    bank = SimulatedBank(clock=clock)
    family = bank.open_account("2002000000001", "Ibu Sari")
    _assert_valid(iso_schemas, "camt.053.001.09", bank.camt053(NOW.date().replace(day=4)))
    for i in range(3):
        bank.execute(TransferRequest(f"PAY-{i}", 100_000 + i, family))
    bank.reverse("PAY-0", reversal_reference="PAY-0-R", reason="wrong family")
    _assert_valid(iso_schemas, "camt.053.001.09", bank.camt053(NOW.date()))


def test_every_message_on_the_wire_validates(
    iso_schemas: Path, iso_target: ConformanceTarget
) -> None:
    adapter = iso_target.adapter
    recorder = Recorder(adapter._http._transport)  # type: ignore[attr-defined]
    adapter._http._transport = recorder  # type: ignore[attr-defined]
    closed = iso_target.bank.open_account("3003000000001", "Closed")
    iso_target.bank.close_account(closed.number)
    adapter.submit(TransferRequest("WIRE-1", 600_000, iso_target.creditor))
    adapter.submit(TransferRequest("WIRE-2", 250_000, iso_target.foreign_creditor))
    with pytest.raises(Exception, match="closed"):
        adapter.submit(TransferRequest("WIRE-3", 1_000, closed))
    adapter.status("WIRE-1")
    adapter.status("WIRE-NONE")
    adapter.reverse("WIRE-1", reversal_reference="WIRE-1-R", reason="test")
    adapter.statement(iso_target.today())
    names = {
        "FIToFICstmrCdtTrf": "pacs.008.001.08",
        "FIToFIPmtStsRpt": "pacs.002.001.10",
        "FIToFIPmtStsReq": "pacs.028.001.05",
        "PmtRtr": "pacs.004.001.09",
        "BkToCstmrStmt": "camt.053.001.09",
    }
    seen = set()
    for body in recorder.bodies:
        if not body.startswith(b"<?xml"):
            continue
        root = etree.fromstring(body)
        message = names[etree.QName(root[0]).localname]
        seen.add(message)
        _assert_valid(iso_schemas, message, body)
    assert seen == set(names.values())
