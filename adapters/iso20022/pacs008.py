"""pacs.008.001.08 FI-to-FI customer credit transfer: built by the client, read by the bank."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pyiso20022.pacs.pacs_008_001_08 import pacs_008_001_08 as m
from xsdata.models.datatype import XmlTime

from adapters.base import (
    CURRENCY,
    AccountRef,
    AnomalyKind,
    BankResponseInvalid,
    InvalidTransferRequest,
    TransferKind,
    TransferRequest,
)
from adapters.checks import parse_rupiah
from adapters.iso20022.agents import agent, bank_code_of
from adapters.iso20022.xml import from_xml, rupiah, to_xml, xml_date, xml_now

# ISO 20022 external purpose code: social security benefit, the nature of every payout here.
PURPOSE = "SSBE"
# Category purpose tells the creditor agent whether to credit an account or pay cash out.
_CATEGORY = {TransferKind.ACCOUNT_CREDIT: "GOVT", TransferKind.CASH_OUT: "CASH"}
_KIND = {code: kind for kind, code in _CATEGORY.items()}


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


def _expiry(tx: m.CreditTransferTransaction39, created: datetime) -> datetime | None:
    """When the instruction expires: RjctTm on the day before, of or after its creation,
    whichever is nearest the creation."""
    if tx.sttlm_tm_req is None or tx.sttlm_tm_req.rjct_tm is None:
        return None
    at = tx.sttlm_tm_req.rjct_tm.to_time()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    created = created.astimezone(UTC)
    same_day = datetime.combine(created.date(), at).astimezone(UTC)
    candidates = (same_day + timedelta(days=shift) for shift in (-1, 0, 1))
    return min(candidates, key=lambda moment: abs(moment - created))


def read_pacs008(data: bytes) -> CreditTransfer:
    """Parse a single-transaction pacs.008 into the bank's view of the transfer."""
    document = from_xml(data, m.Document)
    message = document.fito_ficstmr_cdt_trf
    if len(message.cdt_trf_tx_inf) != 1:
        raise BankResponseInvalid(
            f"expected one transaction per pacs.008, got {len(message.cdt_trf_tx_inf)}",
            kind=AnomalyKind.MALFORMED_MESSAGE,
        )
    tx = message.cdt_trf_tx_inf[0]
    reference = tx.pmt_id.end_to_end_id

    def account_number(account: m.CashAccount38 | None) -> str:
        if account is None or account.id.othr is None:
            raise BankResponseInvalid(
                "account identification missing", kind=AnomalyKind.MALFORMED_MESSAGE
            )
        return account.id.othr.id

    if tx.intr_bk_sttlm_amt.ccy != CURRENCY:
        raise InvalidTransferRequest(f"only {CURRENCY} is paid here", reference=reference)
    category = tx.pmt_tp_inf.ctgy_purp.cd if tx.pmt_tp_inf and tx.pmt_tp_inf.ctgy_purp else None
    request = TransferRequest(
        reference=reference,
        amount=parse_rupiah(tx.intr_bk_sttlm_amt.value, reference=reference),
        creditor=AccountRef(
            bank_code_of(tx.cdtr_agt), account_number(tx.cdtr_acct), tx.cdtr.nm or ""
        ),
        kind=_KIND.get(category or "", TransferKind.ACCOUNT_CREDIT),
        remittance=tx.rmt_inf.ustrd[0] if tx.rmt_inf and tx.rmt_inf.ustrd else "",
    )
    request = replace(request, expires_at=_expiry(tx, message.grp_hdr.cre_dt_tm.to_datetime()))
    debtor = AccountRef(bank_code_of(tx.dbtr_agt), account_number(tx.dbtr_acct), tx.dbtr.nm or "")
    return CreditTransfer(message_id=message.grp_hdr.msg_id, request=request, debtor=debtor)
