"""Conformance set: hand-written ISO 20022 artefacts, each beside its expected decoding.

Every `NAME.xml` in `iso20022_conformance/` is written from the message definitions and the
usage the public guidelines describe (versions, BAH envelopes, IBANs, booking dates, UETRs,
group statuses); `NAME.json` says which reader takes it and either what it must decode to or
which field it must be refused at, and why. Artefacts whose message version has an official XSD
under ../shared are also validated against it, so the set cannot drift from the standard.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.base import BankAdapterError, BankResponseInvalid, Statement, TransferResult
from adapters.iso20022.camt053 import read_camt053
from adapters.iso20022.pacs002 import read_pacs002
from adapters.iso20022.pacs008 import read_pacs008
from adapters.iso20022.xml import ISO_NAMESPACE

ARTEFACTS = Path(__file__).parent / "iso20022_conformance"
CASES = sorted(ARTEFACTS.glob("*.json"))


def _statement(statement: Statement) -> dict[str, Any]:
    return {
        "account": statement.account,
        "day": statement.day.isoformat(),
        "opening_balance": statement.opening_balance,
        "closing_balance": statement.closing_balance,
        "statement_id": statement.statement_id,
        "entries": [
            {
                "reference": entry.reference,
                "amount": entry.amount,
                "direction": entry.direction.value,
                "booked_at": entry.booked_at.isoformat(),
                "bank_reference": entry.bank_reference,
                "counterparty": entry.counterparty,
                "reversal_of": entry.reversal_of,
            }
            for entry in statement.entries
        ],
    }


def _result(result: TransferResult) -> dict[str, Any]:
    return {
        "reference": result.reference,
        "state": result.state.value,
        "amount": result.amount,
        "bank_reference": result.bank_reference,
        "reason_code": result.reason_code,
        "reason": result.reason,
        "settled_at": result.settled_at.isoformat() if result.settled_at else None,
    }


def _decode(spec: dict[str, Any], data: bytes) -> dict[str, Any]:
    reader = spec["reader"]
    if reader == "camt053":
        day = date.fromisoformat(spec["day"]) if "day" in spec else None
        return _statement(read_camt053(data, account=spec.get("account"), day=day))
    if reader == "pacs002":
        sent = (ARTEFACTS / spec["sent"]).read_bytes() if "sent" in spec else None
        return _result(
            read_pacs002(
                data,
                reference=spec["reference"],
                expected_amount=spec.get("expected_amount"),
                sent=sent,
            )
        )
    if reader == "pacs008":
        transfer = read_pacs008(data)
        request = transfer.request
        return {
            "message_id": transfer.message_id,
            "request": {
                "reference": request.reference,
                "amount": request.amount,
                "creditor": asdict(request.creditor),
                "kind": request.kind.value,
                "remittance": request.remittance,
            },
            "debtor": asdict(transfer.debtor),
        }
    raise AssertionError(f"unknown reader {reader}")


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_artefact_decodes_as_expected(case: Path) -> None:
    spec = json.loads(case.read_text())
    data = case.with_suffix(".xml").read_bytes()
    if "accept" in spec:
        assert _decode(spec, data) == spec["accept"]
        return
    expected = spec["refuse"]
    with pytest.raises(BankAdapterError) as caught:
        _decode(spec, data)
    error = caught.value
    assert isinstance(error, BankResponseInvalid), error
    assert error.field == expected["field"], error.message
    assert error.message.startswith(f"{expected['field']}: ")
    assert expected["reason"] in error.message, error.message
    assert error.kind.value == expected["kind"]


def _document(root: Any) -> Any:
    """The `Document` element, bare or inside a business message envelope."""
    return root if etree.QName(root).localname == "Document" else root[-1]


@pytest.mark.parametrize("artefact", sorted(ARTEFACTS.glob("*.xml")), ids=lambda path: path.stem)
def test_artefact_follows_the_official_schema(artefact: Path, iso_schemas: Path) -> None:
    document = _document(etree.parse(str(artefact)).getroot())
    message = etree.QName(document).namespace.removeprefix(ISO_NAMESPACE)
    xsd = iso_schemas / f"{message}.xsd"
    if not xsd.exists():
        pytest.skip(f"no official XSD for {message} under {iso_schemas}")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    assert schema.validate(document), f"{artefact.name}: {schema.error_log}"


def test_every_artefact_has_an_expected_decoding_or_is_a_sent_message() -> None:
    described = {case.stem for case in CASES}
    sent = {json.loads(case.read_text()).get("sent", "") for case in CASES}
    for artefact in ARTEFACTS.glob("*.xml"):
        assert artefact.stem in described or artefact.name in sent, artefact.name


def _damaged(data: bytes) -> list[bytes]:
    """The artefact with each element in turn removed, emptied, and given nonsense text."""
    variants = []
    count = len(list(etree.fromstring(data).iter()))
    for index in range(1, count):
        for damage in ("remove", "empty", "nonsense"):
            root = etree.fromstring(data)
            element = list(root.iter())[index]
            if damage == "remove":
                element.getparent().remove(element)
            elif damage == "empty":
                element.clear()
            elif len(element) == 0:
                element.text = "x-1"
            variants.append(etree.tostring(root))
    return variants


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_a_damaged_artefact_is_decoded_or_refused_never_a_crash(case: Path) -> None:
    """Every element damaged in turn: the reader answers or refuses with a field, nothing else."""
    spec = json.loads(case.read_text())
    for data in _damaged(case.with_suffix(".xml").read_bytes()):
        try:
            _decode(spec, data)
        except BankResponseInvalid as refused:
            assert refused.field, refused.message
        except BankAdapterError:
            pass
