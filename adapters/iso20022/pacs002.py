"""pacs.002.001.10 payment status report: written by the bank, read by the client.

Status codes are the ISO external transaction statuses (ACSC settled, ACSP in process, RJCT
rejected) plus two bilateral codes, RVSD (settled, then returned) and NOTF (no such transfer);
all are four letters, as the schema's Max4Text allows. Anything else is an anomaly.
"""

from __future__ import annotations

from datetime import datetime

from pyiso20022.pacs.pacs_002_001_10 import pacs_002_001_10 as m

from adapters.answers import STATUS_CODES, Answer
from adapters.base import CURRENCY, AnomalyKind, BankResponseInvalid, TransferResult
from adapters.checks import map_status, parse_rupiah, verify_result
from adapters.iso20022.xml import from_xml, rupiah, to_xml, xml_date, xml_now

PACS008 = "pacs.008.001.08"
PACS028 = "pacs.028.001.05"
PACS004 = "pacs.004.001.09"


def build_pacs002(
    answer: Answer,
    *,
    message_id: str,
    original_message_id: str,
    original_message: str,
    created: datetime,
) -> bytes:
    """Report one transaction's status (the bank server's answer to every request)."""
    reasons = []
    if answer.reason_code or answer.reason:
        reasons.append(
            m.StatusReasonInformation12(
                rsn=m.StatusReason6Choice(cd=answer.reason_code) if answer.reason_code else None,
                addtl_inf=[answer.reason[:105]] if answer.reason else [],
            )
        )
    original = m.OriginalTransactionReference28(
        intr_bk_sttlm_amt=m.ActiveOrHistoricCurrencyAndAmount(
            value=rupiah(answer.amount), ccy=CURRENCY
        )
        if answer.amount is not None
        else None,
    )
    transaction = m.PaymentTransaction110(
        orgnl_grp_inf=m.OriginalGroupInformation29(
            orgnl_msg_id=original_message_id, orgnl_msg_nm_id=original_message
        ),
        orgnl_end_to_end_id=answer.reference,
        orgnl_tx_id=answer.reference,
        tx_sts=answer.status_code,
        sts_rsn_inf=reasons,
        accptnc_dt_tm=xml_now(answer.settled_at) if answer.settled_at else None,
        fctv_intr_bk_sttlm_dt=m.DateAndDateTime2Choice(dt=xml_date(answer.settled_at.date()))
        if answer.settled_at
        else None,
        acct_svcr_ref=answer.bank_reference,
        orgnl_tx_ref=original if original.intr_bk_sttlm_amt is not None else None,
    )
    document = m.Document(
        fito_fipmt_sts_rpt=m.FitoFipaymentStatusReportV10(
            grp_hdr=m.GroupHeader91(msg_id=message_id, cre_dt_tm=xml_now(created)),
            tx_inf_and_sts=[transaction],
        )
    )
    return to_xml(document)


def read_pacs002(data: bytes, *, reference: str, expected_amount: int | None) -> TransferResult:
    """Parse and check a status report about `reference`; never trust what does not match."""
    excerpt = data[:300].decode("utf-8", "replace")
    document = from_xml(data, m.Document, reference=reference)
    transactions = document.fito_fipmt_sts_rpt.tx_inf_and_sts
    if len(transactions) != 1:
        raise BankResponseInvalid(
            f"expected one transaction status, got {len(transactions)}",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=excerpt,
        )
    tx = transactions[0]
    if not tx.tx_sts or not tx.orgnl_end_to_end_id:
        raise BankResponseInvalid(
            "status report without a status or an end-to-end id",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=excerpt,
        )
    state = map_status(tx.tx_sts, STATUS_CODES, reference=reference, excerpt=excerpt)
    amount = None
    if tx.orgnl_tx_ref is not None and tx.orgnl_tx_ref.intr_bk_sttlm_amt is not None:
        money = tx.orgnl_tx_ref.intr_bk_sttlm_amt
        if money.ccy != CURRENCY:
            raise BankResponseInvalid(
                f"amount in {money.ccy}, not {CURRENCY}",
                kind=AnomalyKind.AMOUNT_MISMATCH,
                reference=reference,
                excerpt=excerpt,
            )
        amount = parse_rupiah(money.value, reference=reference, excerpt=excerpt)
    reason = tx.sts_rsn_inf[0] if tx.sts_rsn_inf else None
    result = TransferResult(
        reference=tx.orgnl_end_to_end_id,
        state=state,
        amount=amount,
        bank_reference=tx.acct_svcr_ref,
        reason_code=reason.rsn.cd if reason and reason.rsn else None,
        reason=" ".join(reason.addtl_inf) if reason else "",
        settled_at=tx.accptnc_dt_tm.to_datetime() if tx.accptnc_dt_tm else None,
    )
    return verify_result(
        result, reference=reference, expected_amount=expected_amount, excerpt=excerpt
    )
