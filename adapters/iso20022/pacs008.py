"""pacs.008 FI-to-FI customer credit transfer: built by the client (001.08), read by the bank.

The reader accepts the versions banks exchange today (001.08, the one CBPR+ uses; 001.10, newer
market infrastructures), bare or inside a Business Application Header envelope, and maps both to
one `CreditTransfer`. Every transfer carries a UETR derived from its reference (`uetr_of`), so a
status report that names the payment only by UETR can still be tied to it after a crash.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiso20022.pacs.pacs_008_001_08 import pacs_008_001_08 as m
from pyiso20022.pacs.pacs_008_001_10 import pacs_008_001_10 as m10
from xsdata.models.datatype import XmlTime

from adapters.base import (
    CURRENCY,
    AccountRef,
    InvalidTransferRequest,
    TransferKind,
    TransferRequest,
)
from adapters.checks import parse_rupiah
from adapters.iso20022.agents import agent, bank_code_of
from adapters.iso20022.xml import (
    code,
    message_name,
    moment,
    read_message,
    refusal,
    rupiah,
    to_xml,
    xml_date,
    xml_now,
)

# ISO 20022 external purpose code: social security benefit, the nature of every payout here.
PURPOSE = "SSBE"
# Category purpose tells the creditor agent whether to credit an account or pay cash out.
_CATEGORY = {TransferKind.ACCOUNT_CREDIT: "GOVT", TransferKind.CASH_OUT: "CASH"}
_KIND = {category: kind for kind, category in _CATEGORY.items()}
VERSIONS = {message_name(bindings.Document): bindings.Document for bindings in (m, m10)}
# Namespace of the UETRs derived here; changing it would orphan every UETR already sent.
_UETR_NAMESPACE = b"satupintu/uetr/v1:"


def uetr_of(reference: str) -> str:
    """The UETR (a version 4 UUID, as the schemas require) of the transfer under `reference`.

    Derived, not random, so that a status request after a crash names the same UETR as the
    transfer it asks about; references are 80 random bits, so the UETRs are as unique.
    """
    digest = bytearray(hashlib.sha256(_UETR_NAMESPACE + reference.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """What the bank reads from a pacs.008: the transfer and the debtor account it names."""

    message_id: str
    request: TransferRequest
    debtor: AccountRef


def _account(number: str) -> m.CashAccount38:
    return m.CashAccount38(
        id=m.AccountIdentification4Choice(othr=m.GenericAccountIdentification1(id=number))
    )


def build_pacs008(
    transfer: TransferRequest, *, debtor: AccountRef, message_id: str, created: datetime
) -> bytes:
    """One transaction per message, so a message and its transfer fail or succeed together.

    The gateway reference is the EndToEndId, InstrId and TxId alike: every party along the chain
    then reports the same id back, which is what status queries and reconciliation key on.
    """
    amount = m.ActiveCurrencyAndAmount(value=rupiah(transfer.amount), ccy=CURRENCY)
    transaction = m.CreditTransferTransaction39(
        pmt_id=m.PaymentIdentification7(
            instr_id=transfer.reference,
            end_to_end_id=transfer.reference,
            tx_id=transfer.reference,
            uetr=uetr_of(transfer.reference),
        ),
        pmt_tp_inf=m.PaymentTypeInformation28(
            ctgy_purp=m.CategoryPurpose1Choice(cd=_CATEGORY[transfer.kind])
        ),
        intr_bk_sttlm_amt=amount,
        intr_bk_sttlm_dt=xml_date(created.date()),
        sttlm_tm_req=_reject_after(transfer.expires_at),
        chrg_br=m.ChargeBearerType1Code.SLEV,
        dbtr=m.PartyIdentification135(nm=debtor.name or "Satu Pintu"),
        dbtr_acct=_account(debtor.number),
        dbtr_agt=agent(m, debtor.bank_code),
        cdtr_agt=agent(m, transfer.creditor.bank_code),
        cdtr=m.PartyIdentification135(nm=transfer.creditor.name or "Beneficiary"),
        cdtr_acct=_account(transfer.creditor.number),
        purp=m.Purpose2Choice(cd=PURPOSE),
        rmt_inf=m.RemittanceInformation16(ustrd=[transfer.remittance])
        if transfer.remittance
        else None,
    )
    document = m.Document(
        fito_ficstmr_cdt_trf=m.FitoFicustomerCreditTransferV08(
            grp_hdr=m.GroupHeader93(
                msg_id=message_id,
                cre_dt_tm=xml_now(created),
                nb_of_txs="1",
                ttl_intr_bk_sttlm_amt=amount,
                intr_bk_sttlm_dt=xml_date(created.date()),
                sttlm_inf=m.SettlementInstruction7(sttlm_mtd=m.SettlementMethod1Code.CLRG),
            ),
            cdt_trf_tx_inf=[transaction],
        )
    )
    return to_xml(document)


def _reject_after(expires_at: datetime | None) -> m.SettlementTimeRequest2 | None:
    """The expiry as SttlmTmReq/RjctTm (UTC, whole seconds, rounded down so the bank never
    accepts later than the gateway allows), read as the one such time nearest the message's
    creation (expiries are minutes away, never half a day)."""
    if expires_at is None:
        return None
    moment = expires_at.astimezone(UTC).replace(microsecond=0).timetz()
    return m.SettlementTimeRequest2(rjct_tm=XmlTime.from_time(moment))


def _expiry(tx: Any, created: datetime, field: str) -> datetime | None:
    """When the instruction expires: RjctTm on the day before, of or after its creation,
    whichever is nearest the creation."""
    if tx.sttlm_tm_req is None or tx.sttlm_tm_req.rjct_tm is None:
        return None
    if not isinstance(tx.sttlm_tm_req.rjct_tm, XmlTime):
        raise refusal(field, f"{tx.sttlm_tm_req.rjct_tm!r} is not a time")
    at = tx.sttlm_tm_req.rjct_tm.to_time()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    created = created.astimezone(UTC)
    same_day = datetime.combine(created.date(), at).astimezone(UTC)
    candidates = (same_day + timedelta(days=shift) for shift in (-1, 0, 1))
    return min(candidates, key=lambda moment: abs(moment - created))


def read_pacs008(data: bytes) -> CreditTransfer:
    """Parse a single-transaction pacs.008 into the bank's view of the transfer."""
    message = read_message(data, VERSIONS).document.fito_ficstmr_cdt_trf
    if len(message.cdt_trf_tx_inf) != 1:
        raise refusal(
            "FIToFICstmrCdtTrf/CdtTrfTxInf",
            f"expected one transaction per pacs.008, got {len(message.cdt_trf_tx_inf)}",
        )
    path = "FIToFICstmrCdtTrf/CdtTrfTxInf"
    tx = message.cdt_trf_tx_inf[0]
    reference = tx.pmt_id.end_to_end_id
    if tx.intr_bk_sttlm_amt.ccy != CURRENCY:
        raise InvalidTransferRequest(
            f"{path}/IntrBkSttlmAmt/@Ccy: {tx.intr_bk_sttlm_amt.ccy} is not paid here, "
            f"only {CURRENCY}",
            reference=reference,
        )
    purpose = tx.pmt_tp_inf.ctgy_purp if tx.pmt_tp_inf else None
    category = code(purpose.cd) if purpose else None
    request = TransferRequest(
        reference=reference,
        amount=parse_rupiah(
            tx.intr_bk_sttlm_amt.value, reference=reference, field=f"{path}/IntrBkSttlmAmt"
        ),
        creditor=_party(tx.cdtr_agt, tx.cdtr_acct, tx.cdtr, f"{path}/Cdtr"),
        kind=_KIND.get(category or "", TransferKind.ACCOUNT_CREDIT),
        remittance=tx.rmt_inf.ustrd[0] if tx.rmt_inf and tx.rmt_inf.ustrd else "",
    )
    created = moment(message.grp_hdr.cre_dt_tm, "FIToFICstmrCdtTrf/GrpHdr/CreDtTm", refusal)
    request = replace(request, expires_at=_expiry(tx, created, f"{path}/SttlmTmReq/RjctTm"))
    debtor = _party(tx.dbtr_agt, tx.dbtr_acct, tx.dbtr, f"{path}/Dbtr")
    return CreditTransfer(message_id=message.grp_hdr.msg_id, request=request, debtor=debtor)


def _party(agent_element: Any, account: Any, party: Any, field: str) -> AccountRef:
    """Bank code, account number and name of one side; `field` is `.../Cdtr` or `.../Dbtr`."""
    bank_code = bank_code_of(agent_element, field=f"{field}Agt")
    if account is None or account.id is None:
        raise refusal(f"{field}Acct/Id", "account identification missing")
    if account.id.othr is None:
        raise refusal(
            f"{field}Acct/Id",
            "only a domestic account number (Othr/Id) is credited here, not an IBAN",
        )
    try:
        return AccountRef(bank_code, account.id.othr.id, party.nm or "")
    except InvalidTransferRequest as exc:
        raise refusal(f"{field}Acct/Id/Othr/Id", exc.message) from exc
