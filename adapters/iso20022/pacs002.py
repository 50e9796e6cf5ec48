"""pacs.002 payment status report: written by the bank (001.10), read by the client.

Status codes are the ISO external payment statuses (ACSC settled, ACSP in process, RJCT
rejected, ...) plus two bilateral codes, RVSD (settled, then returned) and NOTF (no such
transfer); all are four letters, as the schema's Max4Text allows. Anything else is an anomaly.

The reader accepts the versions in use (001.03, the SEPA and older clearing generation; 001.10,
the one CBPR+ uses; 001.12), bare or in a Business Application Header envelope, parses each into
one `StatusReport` and only then decides which status, if any, is about the transfer asked
after. A transaction status matches by end-to-end id or by UETR (CBPR+ makes the UETR mandatory
and Fedwire reports by it); a report that carries only a group status matches when it names the
very instruction message (pacs.008 or pacs.004) this exchange sent. A group status about any
other message, a status request above all, says nothing about the transfer and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pyiso20022.pacs.pacs_002_001_03 import pacs_002_001_03 as m03
from pyiso20022.pacs.pacs_002_001_10 import pacs_002_001_10 as m
from pyiso20022.pacs.pacs_002_001_12 import pacs_002_001_12 as m12

from adapters.answers import STATUS_CODES, Answer
from adapters.base import CURRENCY, AnomalyKind, BankResponseInvalid, TransferResult
from adapters.checks import map_status, parse_rupiah, verify_result
from adapters.iso20022.pacs004 import VERSIONS as PACS004_VERSIONS
from adapters.iso20022.pacs008 import VERSIONS as PACS008_VERSIONS
from adapters.iso20022.pacs008 import uetr_of
from adapters.iso20022.pacs028 import VERSIONS as PACS028_VERSIONS
from adapters.iso20022.xml import (
    code,
    document_message_id,
    given,
    message_name,
    moment,
    read_message,
    refusal,
    rupiah,
    to_xml,
    xml_date,
    xml_now,
)

PACS008 = "pacs.008.001.08"
PACS028 = "pacs.028.001.05"
PACS004 = "pacs.004.001.09"
VERSIONS = {message_name(bindings.Document): bindings.Document for bindings in (m03, m, m12)}
_SENT = PACS008_VERSIONS | PACS004_VERSIONS | PACS028_VERSIONS
# Families whose group status is the status of the one transfer they carry.
_INSTRUCTIONS = ("pacs.008", "pacs.004")


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """One `TxInfAndSts`: which payment (by any of its ids) and what became of it."""

    end_to_end_id: str | None
    transaction_id: str | None
    uetr: str | None
    status: str | None
    reason_code: str | None
    reason: str
    amount: int | None
    accepted_at: datetime | None
    bank_reference: str | None


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """One `OrgnlGrpInfAndSts`: a status for a whole original message."""

    original_message_id: str
    original_message: str | None
    status: str | None
    reason_code: str | None
    reason: str
    transactions: int | None
    control_sum: Decimal | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Every pacs.002 version, read into one model."""

    version: str
    message_id: str
    groups: tuple[GroupStatus, ...]
    transactions: tuple[TransactionStatus, ...]


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
        orgnl_uetr=uetr_of(answer.reference),
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


def _reason(reasons: list[Any]) -> tuple[str | None, str]:
    first = reasons[0] if reasons else None
    if first is None:
        return None, ""
    cause = code(first.rsn.cd or first.rsn.prtry) if first.rsn is not None else None
    return cause, " ".join(first.addtl_inf)


def parse_pacs002(data: bytes, *, reference: str | None = None) -> StatusReport:
    """Read any accepted pacs.002 version into a `StatusReport`, checking currencies."""
    excerpt = data[:300].decode("utf-8", "replace")

    def refuse(field: str, why: str) -> BankResponseInvalid:
        return refusal(field, why, reference=reference, excerpt=excerpt)

    message = read_message(data, VERSIONS, reference=reference)
    body = message.document.fito_fipmt_sts_rpt
    path = "FIToFIPmtStsRpt"
    raw_groups = body.orgnl_grp_inf_and_sts
    if not isinstance(raw_groups, list):
        raw_groups = [raw_groups] if raw_groups is not None else []
    groups = []
    for index, group in enumerate(raw_groups, start=1):
        count = group.orgnl_nb_of_txs
        if count is not None and not count.isdigit():
            raise refusal(
                f"{path}/OrgnlGrpInfAndSts[{index}]/OrgnlNbOfTxs",
                f"{count!r} is not a number of transactions",
                reference=reference,
                excerpt=excerpt,
            )
        cause, why = _reason(group.sts_rsn_inf)
        groups.append(
            GroupStatus(
                original_message_id=group.orgnl_msg_id,
                original_message=group.orgnl_msg_nm_id,
                status=code(group.grp_sts),
                reason_code=cause,
                reason=why,
                transactions=int(count) if count is not None else None,
                control_sum=group.orgnl_ctrl_sum,
            )
        )
    transactions = []
    for index, tx in enumerate(body.tx_inf_and_sts, start=1):
        tx_path = f"{path}/TxInfAndSts[{index}]"
        field = f"{tx_path}/OrgnlTxRef/IntrBkSttlmAmt"
        money = tx.orgnl_tx_ref.intr_bk_sttlm_amt if tx.orgnl_tx_ref is not None else None
        if money is not None and money.ccy != CURRENCY:
            raise refusal(
                f"{field}/@Ccy",
                f"amount in {money.ccy}, not {CURRENCY}",
                kind=AnomalyKind.AMOUNT_MISMATCH,
                reference=reference,
                excerpt=excerpt,
            )
        cause, why = _reason(tx.sts_rsn_inf)
        transactions.append(
            TransactionStatus(
                end_to_end_id=given(tx.orgnl_end_to_end_id),
                transaction_id=given(tx.orgnl_tx_id),
                uetr=getattr(tx, "orgnl_uetr", None),
                status=code(tx.tx_sts),
                reason_code=cause,
                reason=why,
                amount=parse_rupiah(money.value, reference=reference, excerpt=excerpt, field=field)
                if money is not None
                else None,
                accepted_at=moment(tx.accptnc_dt_tm, f"{tx_path}/AccptncDtTm", refuse)
                if tx.accptnc_dt_tm
                else None,
                bank_reference=tx.acct_svcr_ref,
            )
        )
    return StatusReport(
        version=message.name,
        message_id=body.grp_hdr.msg_id,
        groups=tuple(groups),
        transactions=tuple(transactions),
    )


def read_pacs002(
    data: bytes, *, reference: str, expected_amount: int | None, sent: bytes | None = None
) -> TransferResult:
    """The status of the transfer under `reference`, from a report the bank sent in answer to
    `sent` (the message of this exchange); never trust what does not match."""
    excerpt = data[:300].decode("utf-8", "replace")
    report = parse_pacs002(data, reference=reference)

    def refuse(field: str, why: str, kind: AnomalyKind) -> Exception:
        return refusal(field, why, kind=kind, reference=reference, excerpt=excerpt)

    if report.transactions:
        index, tx = _matching_transaction(report, reference, refuse)
        field = f"FIToFIPmtStsRpt/TxInfAndSts[{index}]"
        status = tx.status or _only_group_status(report)
        if status is None:
            raise refuse(
                f"{field}/TxSts",
                "the transaction has no status and no group status stands in for it",
                AnomalyKind.MALFORMED_MESSAGE,
            )
        result = TransferResult(
            reference=reference,
            state=map_status(
                status,
                STATUS_CODES,
                reference=reference,
                excerpt=excerpt,
                field=f"{field}/TxSts" if tx.status else "FIToFIPmtStsRpt/OrgnlGrpInfAndSts",
            ),
            amount=tx.amount,
            bank_reference=tx.bank_reference,
            reason_code=tx.reason_code,
            reason=tx.reason,
            settled_at=tx.accepted_at,
        )
        amount_field = f"{field}/OrgnlTxRef/IntrBkSttlmAmt"
    else:
        result, amount_field = _group_result(report, reference, sent, refuse, excerpt)
    return verify_result(
        result,
        reference=reference,
        expected_amount=expected_amount,
        excerpt=excerpt,
        amount_field=amount_field,
    )


def _matching_transaction(
    report: StatusReport, reference: str, refuse: Any
) -> tuple[int, TransactionStatus]:
    """The one transaction status naming `reference` by end-to-end id or UETR, and none that
    names it by one and contradicts it by the other."""
    uetr = uetr_of(reference)
    matches = []
    for index, tx in enumerate(report.transactions, start=1):
        by_id = tx.end_to_end_id == reference
        by_uetr = tx.uetr is not None and tx.uetr.lower() == uetr
        if not (by_id or by_uetr):
            continue
        field = f"FIToFIPmtStsRpt/TxInfAndSts[{index}]"
        if by_id and tx.uetr is not None and not by_uetr:
            raise refuse(
                f"{field}/OrgnlUETR",
                f"{tx.uetr} is not the UETR of {reference}",
                AnomalyKind.UNKNOWN_REFERENCE,
            )
        if by_uetr and tx.end_to_end_id is not None and not by_id:
            raise refuse(
                f"{field}/OrgnlEndToEndId",
                f"{tx.end_to_end_id} contradicts the UETR, which is {reference}'s",
                AnomalyKind.UNKNOWN_REFERENCE,
            )
        matches.append((index, tx))
    if not matches:
        named = ", ".join(tx.end_to_end_id or tx.uetr or "(no id)" for tx in report.transactions)
        raise refuse(
            "FIToFIPmtStsRpt/TxInfAndSts",
            f"asked about {reference} but the bank answered about {named}",
            AnomalyKind.UNKNOWN_REFERENCE,
        )
    if len(matches) > 1:
        raise refuse(
            "FIToFIPmtStsRpt/TxInfAndSts",
            f"{len(matches)} transaction statuses name {reference}",
            AnomalyKind.MALFORMED_MESSAGE,
        )
    return matches[0]


def _only_group_status(report: StatusReport) -> str | None:
    statuses = {group.status for group in report.groups if group.status}
    return statuses.pop() if len(statuses) == 1 else None


def _group_result(
    report: StatusReport, reference: str, sent: bytes | None, refuse: Any, excerpt: str
) -> tuple[TransferResult, str]:
    """A report without transaction statuses speaks for the instruction message it names;
    returned with the path of the amount it carries."""
    path = "FIToFIPmtStsRpt/OrgnlGrpInfAndSts"
    if not report.groups:
        raise refuse(
            "FIToFIPmtStsRpt",
            "neither a transaction status nor a group status",
            AnomalyKind.MALFORMED_MESSAGE,
        )
    if sent is None:
        raise refuse(
            f"{path}/OrgnlMsgId",
            f"a group status cannot be tied to {reference} without the message it answers",
            AnomalyKind.UNKNOWN_REFERENCE,
        )
    original = read_message(sent, _SENT, reference=reference)
    if not original.name.startswith(_INSTRUCTIONS):
        raise refuse(
            f"{path}/OrgnlMsgId",
            f"the exchange sent a {original.name}, whose group status is not the status "
            f"of {reference}",
            AnomalyKind.UNKNOWN_REFERENCE,
        )
    sent_id = document_message_id(original.document)
    for index, group in enumerate(report.groups, start=1):
        field = f"{path}[{index}]"
        if group.original_message_id != sent_id:
            continue
        if group.original_message and group.original_message != original.name:
            raise refuse(
                f"{field}/OrgnlMsgNmId",
                f"{group.original_message} is not the {original.name} sent as {sent_id}",
                AnomalyKind.UNKNOWN_REFERENCE,
            )
        if not group.status:
            raise refuse(f"{field}/GrpSts", "missing", AnomalyKind.MALFORMED_MESSAGE)
        if group.transactions not in (None, 1):
            raise refuse(
                f"{field}/OrgnlNbOfTxs",
                f"{group.transactions} transactions, but {sent_id} carried one",
                AnomalyKind.MALFORMED_MESSAGE,
            )
        state = map_status(
            group.status,
            STATUS_CODES,
            reference=reference,
            excerpt=excerpt,
            field=f"{field}/GrpSts",
        )
        result = TransferResult(
            reference=reference,
            state=state,
            # With one transaction in the message, its control sum is that transfer's amount.
            amount=parse_rupiah(
                group.control_sum,
                reference=reference,
                excerpt=excerpt,
                field=f"{field}/OrgnlCtrlSum",
            )
            if group.control_sum is not None
            else None,
            reason_code=group.reason_code,
            reason=group.reason,
        )
        return result, f"{field}/OrgnlCtrlSum"
    named = ", ".join(group.original_message_id for group in report.groups)
    raise refuse(
        f"{path}/OrgnlMsgId",
        f"the group status is about {named}, not {sent_id} which carried {reference}",
        AnomalyKind.UNKNOWN_REFERENCE,
    )
