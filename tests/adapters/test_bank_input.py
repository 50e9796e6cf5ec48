"""Bad input from a bank is classified as an anomaly: never a crash, never proof of payment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from adapters.answers import Answer
from adapters.base import (
    AnomalyKind,
    BankResponseInvalid,
    EntryDirection,
    Statement,
    StatementEntry,
)
from adapters.checks import parse_rupiah
from adapters.iso20022.camt053 import build_camt053, read_camt053
from adapters.iso20022.pacs002 import build_pacs002, read_pacs002
from adapters.iso20022.pacs028 import build_pacs028
from adapters.snap.client import _json

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)


def _report(answer: Answer) -> bytes:
    return build_pacs002(
        answer,
        message_id="B-1",
        original_message_id="M-1",
        original_message="pacs.008.001.08",
        created=NOW,
    )


def _kind(data: bytes, *, reference: str = "PAY-1", amount: int | None = 600_000) -> AnomalyKind:
    with pytest.raises(BankResponseInvalid) as caught:
        read_pacs002(data, reference=reference, expected_amount=amount)
    assert caught.value.reference == reference
    return caught.value.kind


def test_a_good_report_is_read() -> None:
    result = read_pacs002(
        _report(Answer("PAY-1", "ACSC", 600_000, "B1", settled_at=NOW)),
        reference="PAY-1",
        expected_amount=600_000,
    )
    assert (result.state.value, result.amount, result.settled_at) == ("settled", 600_000, NOW)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml at all",
        b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10'><FIToFIPmtStsRpt>",
        # Another message type altogether must not be read as a status report.
        build_pacs028("PAY-1", message_id="X", created=NOW),
        # An entity expansion attack is refused, not expanded.
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
        b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10'>&e;</Document>",
        # An element the schema does not know.
        _report(Answer("PAY-1", "ACSC", 600_000)).replace(b"<TxSts>", b"<Bogus/><TxSts>"),
    ],
    ids=["empty", "text", "truncated", "wrong-message", "entity", "unknown-element"],
)
def test_malformed_reports(data: bytes) -> None:
    assert _kind(data) is AnomalyKind.MALFORMED_MESSAGE


def test_unknown_status_code() -> None:
    assert _kind(_report(Answer("PAY-1", "ACXX", 600_000))) is AnomalyKind.UNKNOWN_STATUS_CODE


def test_status_for_a_reference_never_sent() -> None:
    data = _report(Answer("PAY-OTHER", "ACSC", 600_000, settled_at=NOW))
    assert _kind(data) is AnomalyKind.UNKNOWN_REFERENCE


def test_amount_that_differs() -> None:
    data = _report(Answer("PAY-1", "ACSC", 600_001, settled_at=NOW))
    assert _kind(data) is AnomalyKind.AMOUNT_MISMATCH


def test_fractional_rupiah_and_foreign_currency() -> None:
    good = _report(Answer("PAY-1", "ACSC", 600_000, settled_at=NOW))
    assert _kind(good.replace(b">600000<", b">600000.50<")) is AnomalyKind.AMOUNT_MISMATCH
    assert _kind(good.replace(b'Ccy="IDR"', b'Ccy="USD"')) is AnomalyKind.AMOUNT_MISMATCH


def test_settled_without_an_amount_is_no_proof() -> None:
    assert _kind(_report(Answer("PAY-1", "ACSC", None))) is AnomalyKind.MALFORMED_MESSAGE


@pytest.mark.parametrize(
    ("value", "expected"),
    [("600000", 600_000), ("600000.00", 600_000), ("0", 0)],
)
def test_parse_rupiah_accepts_whole_amounts(value: str, expected: int) -> None:
    assert parse_rupiah(value, reference=None) == expected


@pytest.mark.parametrize("value", ["12.5", "-1", "NaN", "Infinity", "abc", None])
def test_parse_rupiah_refuses_everything_else(value: object) -> None:
    with pytest.raises(BankResponseInvalid):
        parse_rupiah(value, reference="PAY-1")


def _statement(closing: int) -> Statement:
    entry = StatementEntry("PAY-1", 600_000, EntryDirection.DEBIT, NOW, "B1", "2002000000001")
    return Statement("1001000000001", date(2026, 1, 5), 1_000_000, closing, (entry,), "S-1")


def test_statement_that_does_not_add_up_is_refused() -> None:
    good = build_camt053(_statement(400_000), bank_code="BRINIDJA", created=NOW)
    assert read_camt053(good).closing_balance == 400_000
    bad = build_camt053(_statement(500_000), bank_code="BRINIDJA", created=NOW)
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(bad)
    assert caught.value.kind is AnomalyKind.STATEMENT_INCONSISTENT


def test_statement_with_a_missing_entry_is_refused() -> None:
    document = build_camt053(_statement(400_000), bank_code="BRINIDJA", created=NOW)
    start = document.index(b"<Ntry>")
    end = document.index(b"</Ntry>") + len(b"</Ntry>")
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(document[:start] + document[end:])
    assert caught.value.kind is AnomalyKind.STATEMENT_INCONSISTENT


@pytest.mark.parametrize(
    "content", [b"<html>502</html>", b"[]", b'{"responseMessage": "no code"}', b'{"a":']
)
def test_snap_answers_without_a_response_code_are_malformed(content: bytes) -> None:
    response = httpx.Response(200, content=content)
    with pytest.raises(BankResponseInvalid) as caught:
        _json(response, "PAY-1")
    assert caught.value.kind is AnomalyKind.MALFORMED_MESSAGE


@pytest.mark.parametrize(
    ("good", "bad", "binding"),
    [
        (b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>CRDX</CdtDbtInd>", "cdt_dbt_ind"),
        (b"<Dt>2026-01-05</Dt>", b"<Dt>2026-01-35</Dt>", "dt"),
    ],
    ids=["credit-debit", "date"],
)
def test_a_value_that_does_not_convert_is_refused_not_misread(
    good: bytes, bad: bytes, binding: str
) -> None:
    document = build_camt053(_statement(400_000), bank_code="BRINIDJA", created=NOW)
    assert good in document
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(document.replace(good, bad, 1))
    assert caught.value.kind is AnomalyKind.MALFORMED_MESSAGE
    assert caught.value.field == "Document"
    assert f".{binding}`" in caught.value.message


def test_a_statement_of_another_account_or_day_is_refused() -> None:
    document = build_camt053(_statement(400_000), bank_code="BRINIDJA", created=NOW)
    day = date(2026, 1, 5)
    assert read_camt053(document, account="1001000000001", day=day).closing_balance == 400_000
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(document, account="1001000000002", day=day)
    assert caught.value.field == "BkToCstmrStmt/Stmt/Acct/Id"
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(document, account="1001000000001", day=date(2026, 1, 6))
    assert caught.value.field == "BkToCstmrStmt/Stmt/Bal[2]/Dt"
    assert "closes on 2026-01-05, not on 2026-01-06" in caught.value.message
