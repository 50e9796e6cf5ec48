"""pacs.004.001.09 payment return: the client asks its bank to return a settled transfer.

Bilateral use: the gateway's bank holds both legs of an on-us payout, so the gateway instructs
the return itself; the return id is the reversal's own reference, and the returned amount must
equal the original's (partial returns are not part of the payout life cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyiso20022.pacs.pacs_004_001_09 import pacs_004_001_09 as m

from adapters.base import CURRENCY, check_reference
from adapters.checks import parse_rupiah
from adapters.iso20022.pacs008 import uetr_of
from adapters.iso20022.xml import from_xml, message_name, refusal, rupiah, to_xml, xml_date, xml_now

# ISO external return reason: "following cancellation request" is what a gateway reversal is.
RETURN_REASON = "FOCR"

VERSIONS = {message_name(m.Document): m.Document}


@dataclass(frozen=True, slots=True)
class ReturnInstruction:
    message_id: str
    original_reference: str
    return_reference: str
    amount: int
    reason: str


def build_pacs004(instruction: ReturnInstruction, *, created: datetime) -> bytes:
    amount = m.ActiveCurrencyAndAmount(value=rupiah(instruction.amount), ccy=CURRENCY)
    document = m.Document(
        pmt_rtr=m.PaymentReturnV09(
            grp_hdr=m.GroupHeader90(
                msg_id=instruction.message_id,
                cre_dt_tm=xml_now(created),
                nb_of_txs="1",
                ttl_rtrd_intr_bk_sttlm_amt=amount,
                intr_bk_sttlm_dt=xml_date(created.date()),
                sttlm_inf=m.SettlementInstruction7(sttlm_mtd=m.SettlementMethod1Code.CLRG),
            ),
            tx_inf=[
                m.PaymentTransaction112(
                    rtr_id=instruction.return_reference,
                    orgnl_end_to_end_id=instruction.original_reference,
                    orgnl_tx_id=instruction.original_reference,
                    orgnl_uetr=uetr_of(instruction.original_reference),
                    rtrd_intr_bk_sttlm_amt=amount,
                    rtr_rsn_inf=[
                        m.PaymentReturnReason6(
                            rsn=m.ReturnReason5Choice(cd=RETURN_REASON),
                            addtl_inf=[instruction.reason[:105]] if instruction.reason else [],
                        )
                    ],
                )
            ],
        )
    )
    return to_xml(document)


def read_pacs004(data: bytes) -> ReturnInstruction:
    message = from_xml(data, m.Document).pmt_rtr
    if len(message.tx_inf) != 1:
        raise refusal(
            "PmtRtr/TxInf", f"a return carries one transaction, not {len(message.tx_inf)}"
        )
    tx = message.tx_inf[0]
    for field, value in (("RtrId", tx.rtr_id), ("OrgnlEndToEndId", tx.orgnl_end_to_end_id)):
        if not value:
            raise refusal(f"PmtRtr/TxInf/{field}", "a return needs it")
    reason = tx.rtr_rsn_inf[0].addtl_inf if tx.rtr_rsn_inf else []
    return ReturnInstruction(
        message_id=message.grp_hdr.msg_id,
        original_reference=check_reference(tx.orgnl_end_to_end_id),
        return_reference=check_reference(tx.rtr_id),
        amount=parse_rupiah(
            tx.rtrd_intr_bk_sttlm_amt.value,
            reference=tx.rtr_id,
            field="PmtRtr/TxInf/RtrdIntrBkSttlmAmt",
        ),
        reason=" ".join(reason),
    )
