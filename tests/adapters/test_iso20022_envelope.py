"""Business messages written and read, versions refused by name, and group statuses matched
through the adapter against the very message it sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from lxml import etree

from adapters.bank import SimulatedBank
from adapters.base import (
    AccountRef,
    AnomalyKind,
    BankResponseInvalid,
    Statement,
    TransferRejected,
    TransferRequest,
)
from adapters.clock import ManualClock
from adapters.faults import FaultInjector
from adapters.iso20022.bah import to_business_message
from adapters.iso20022.camt053 import build_camt053, read_camt053
from adapters.iso20022.client import Iso20022Adapter
from adapters.iso20022.pacs002 import read_pacs002
from adapters.iso20022.pacs008 import VERSIONS, build_pacs008, read_pacs008, uetr_of
from adapters.iso20022.pacs028 import read_pacs028
from adapters.iso20022.server import create_bank_app
from adapters.iso20022.xml import ISO_NAMESPACE, read_message
from adapters.transport import InProcessTransport
from tests.adapters.wire import Recorder

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
ARTEFACTS = Path(__file__).parent / "iso20022_conformance"
TRANSFER = TransferRequest(
    "SP3F2A9C41D07B58E6AA01", 600_000, AccountRef("BNI", "4004000000001", "Agen Makmur")
)
DEBTOR = AccountRef("BRINIDJA", "1001000000001", "Satu Pintu")


def _business_message() -> bytes:
    document = build_pacs008(TRANSFER, debtor=DEBTOR, message_id="SPCT-1", created=NOW)
    return to_business_message(document, sender="BRINIDJA", receiver="BNI", created=NOW)


def test_a_written_business_message_reads_back_with_its_header() -> None:
    data = _business_message()
    transfer = read_pacs008(data)
    assert (transfer.message_id, transfer.request) == ("SPCT-1", TRANSFER)
    header = read_message(data, VERSIONS).header
    assert header is not None
    assert (header.message_id, header.definition) == ("SPCT-1", "pacs.008.001.08")
    assert (header.sender, header.receiver) == ("BRINIDJA", "BNI")
    assert header.version == "head.001.001.02"


def test_the_document_inside_a_business_message_follows_the_schema(iso_schemas: Path) -> None:
    envelope = etree.fromstring(_business_message())
    assert [etree.QName(child).localname for child in envelope] == ["AppHdr", "Document"]
    schema = etree.XMLSchema(etree.parse(str(iso_schemas / "pacs.008.001.08.xsd")))
    assert schema.validate(envelope[1]), schema.error_log
    uetr = envelope[1].findtext(".//{*}UETR")
    assert uetr == uetr_of(TRANSFER.reference)


def test_header_after_the_document_is_refused() -> None:
    envelope = etree.fromstring(_business_message())
    envelope.append(envelope[0])
    with pytest.raises(BankResponseInvalid) as caught:
        read_pacs008(etree.tostring(envelope))
    assert caught.value.field == "/BusMsg"
    assert "AppHdr and then a Document" in caught.value.message


def test_a_version_not_read_here_is_refused_by_name() -> None:
    statement = (ARTEFACTS / "camt.053.001.09-swiss-francs.xml").read_bytes()
    renamed = statement.replace(b"camt.053.001.09", b"camt.053.001.10")
    with pytest.raises(BankResponseInvalid) as caught:
        read_camt053(renamed)
    assert caught.value.field == "Document/@xmlns"
    assert "camt.053.001.02, camt.053.001.04, camt.053.001.08, camt.053.001.09" in str(caught.value)


def test_a_us_routing_number_is_no_bank_code_but_bi_fast_member_ids_are() -> None:
    data = (ARTEFACTS / "pacs.008.001.08-bi-fast.xml").read_bytes()
    assert read_pacs008(data).request.creditor.bank_code == "009"
    unnamed = data.replace(b"<ClrSysId><Prtry>BI-FAST</Prtry></ClrSysId>", b"", 1)
    with pytest.raises(BankResponseInvalid) as caught:
        read_pacs008(unnamed)
    assert caught.value.field.endswith("DbtrAgt/FinInstnId/ClrSysMmbId/ClrSysId")


def test_a_group_status_needs_the_message_it_answers() -> None:
    report = (ARTEFACTS / "pacs.002.001.12-group-rejected.xml").read_bytes()
    with pytest.raises(BankResponseInvalid) as caught:
        read_pacs002(report, reference=TRANSFER.reference, expected_amount=600_000)
    assert caught.value.kind is AnomalyKind.UNKNOWN_REFERENCE
    other = build_pacs008(TRANSFER, debtor=DEBTOR, message_id="SPCT-OTHER", created=NOW)
    with pytest.raises(BankResponseInvalid) as caught:
        read_pacs002(report, reference=TRANSFER.reference, expected_amount=600_000, sent=other)
    assert "not SPCT-OTHER" in caught.value.message


def _group_report(message_id: str) -> bytes:
    template = (ARTEFACTS / "pacs.002.001.12-group-rejected.xml").read_bytes()
    return template.replace(b"SPCT-5b0e2f0c1d3a4e6f8a9b0c1d2e3f", message_id.encode())


def test_the_adapter_reads_a_group_rejection_of_its_own_transfer() -> None:
    """The bank rejects the whole message at group level: the adapter ties it to the message it
    sent and reports a definite rejection."""

    def bank(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("pacs.008"):
            message_id = read_pacs008(request.content).message_id
        else:
            message_id, _ = read_pacs028(request.content)
        return httpx.Response(200, content=_group_report(message_id))

    adapter = Iso20022Adapter(
        base_url="http://bank.test",
        settlement_account=DEBTOR,
        transport=httpx.MockTransport(bank),
        clock=lambda: NOW,
    )
    with pytest.raises(TransferRejected) as caught:
        adapter.submit(TRANSFER)
    assert caught.value.reason_code == "RC01"
    with pytest.raises(BankResponseInvalid) as refused:
        adapter.status(TRANSFER.reference)
    assert refused.value.kind is AnomalyKind.UNKNOWN_REFERENCE
    adapter.close()


def test_a_bank_spoken_to_in_business_messages_answers_in_them(
    iso_schemas: Path, bank: SimulatedBank, faults: FaultInjector, clock: ManualClock
) -> None:
    """Every message both ways is a BAH business message whose document follows its schema, and
    the whole payout life cycle still works through them."""
    recorder = Recorder(InProcessTransport(create_bank_app(bank, faults=faults, sleep=clock.sleep)))
    adapter = Iso20022Adapter(
        base_url="http://bank.test",
        settlement_account=AccountRef(bank.bank_code, bank.settlement_account, "Satu Pintu"),
        transport=recorder,
        sleep=clock.sleep,
        clock=clock,
        business_message_to=bank.bank_code,
    )
    family = bank.open_account("2002000000001", "Ibu Sari")
    assert adapter.submit(TransferRequest("WIRE-1", 600_000, family)).amount == 600_000
    assert adapter.status("WIRE-1").state.value == "settled"
    assert adapter.status("WIRE-NONE").state.value == "not_found"
    adapter.reverse("WIRE-1", reversal_reference="WIRE-1-R", reason="test")
    assert adapter.status("WIRE-1").state.value == "reversed"
    adapter.close()
    exchanged = [body for body in recorder.bodies if body.startswith(b"<?xml")]
    assert len(exchanged) == 14
    for body in exchanged:
        envelope = etree.fromstring(body)
        header, document = envelope
        assert etree.QName(envelope).localname == "BusMsg"
        message = etree.QName(document).namespace.removeprefix(ISO_NAMESPACE)
        assert header.findtext("{*}MsgDefIdr") == message
        assert header.findtext("{*}BizMsgIdr") == document.findtext("{*}*/{*}GrpHdr/{*}MsgId")
        schema = etree.XMLSchema(etree.parse(str(iso_schemas / f"{message}.xsd")))
        assert schema.validate(document), f"{message}: {schema.error_log}"


def test_the_adapter_refuses_a_statement_of_another_day_or_account() -> None:
    """A bank answering with yesterday's statement, or another account's, is not reconciled."""
    served: list[bytes] = []

    def bank(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=served[-1])

    adapter = Iso20022Adapter(
        base_url="http://bank.test",
        settlement_account=DEBTOR,
        transport=httpx.MockTransport(bank),
        clock=lambda: NOW,
    )
    day = date(2026, 1, 5)
    for statement, field in (
        (Statement(DEBTOR.number, day, 0, 0, ()), None),
        (Statement(DEBTOR.number, date(2026, 1, 4), 0, 0, ()), "BkToCstmrStmt/Stmt/Bal[2]/Dt"),
        (Statement("1001000000009", day, 0, 0, ()), "BkToCstmrStmt/Stmt/Acct/Id"),
    ):
        served.append(build_camt053(statement, bank_code=DEBTOR.bank_code, created=NOW))
        if field is None:
            assert adapter.statement(day).account == DEBTOR.number
            continue
        with pytest.raises(BankResponseInvalid) as caught:
            adapter.statement(day)
        assert caught.value.field == field
    adapter.close()
