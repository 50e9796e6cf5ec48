"""camt.053.001.09 bank-to-customer statement: written by the simulated bank, read by clients.

A statement is accepted only when it adds up: opening balance plus entries equals closing
balance, and the entry count and sum match the summary. An inconsistent statement is an
anomaly, because reconciliation on a partial statement would report payouts as missing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyiso20022.camt.camt_053_001_09 import camt_053_001_09 as m

from adapters.base import (
    CURRENCY,
    WIB,
    AnomalyKind,
    BankResponseInvalid,
    EntryDirection,
    Statement,
    StatementEntry,
)
from adapters.checks import parse_rupiah
from adapters.iso20022.agents import agent
from adapters.iso20022.xml import from_xml, rupiah, to_xml, xml_date, xml_now

# Bank transaction codes (ISO external code set): payments domain, issued / received credit
# transfers, domestic credit transfer or return.
_DOMAIN = "PMNT"
_RETURN_REASON = "FOCR"


def _direction(code: m.CreditDebitCode) -> EntryDirection:
    return EntryDirection.CREDIT if code is m.CreditDebitCode.CRDT else EntryDirection.DEBIT


def _code(direction: EntryDirection) -> m.CreditDebitCode:
    return m.CreditDebitCode.CRDT if direction is EntryDirection.CREDIT else m.CreditDebitCode.DBIT


def _balance(kind: str, amount: int, day: date) -> m.CashBalance8:
    return m.CashBalance8(
        tp=m.BalanceType13(cd_or_prtry=m.BalanceType10Choice(cd=kind)),
        amt=m.ActiveOrHistoricCurrencyAndAmount(value=rupiah(abs(amount)), ccy=CURRENCY),
        cdt_dbt_ind=m.CreditDebitCode.CRDT if amount >= 0 else m.CreditDebitCode.DBIT,
        dt=m.DateAndDateTime2Choice(dt=xml_date(day)),
    )


def _entry(entry: StatementEntry) -> m.ReportEntry11:
    amount = m.ActiveOrHistoricCurrencyAndAmount(value=rupiah(entry.amount), ccy=CURRENCY)
    family = "RCDT" if entry.direction is EntryDirection.CREDIT else "ICDT"
    is_return = entry.reversal_of is not None
    refs = m.TransactionReferences6(
        acct_svcr_ref=entry.bank_reference or None,
        # A return carries the original end-to-end id and its own id as TxId, as banks do.
        end_to_end_id=entry.reversal_of if is_return else entry.reference,
        tx_id=entry.reference,
    )
    counterparty = (
        m.CashAccount40(
            id=m.AccountIdentification4Choice(
                othr=m.GenericAccountIdentification1(id=entry.counterparty)
            )
        )
        if entry.counterparty
        else None
    )
    parties = (
        (
            m.TransactionParties9(cdtr_acct=counterparty)
            if entry.direction is EntryDirection.DEBIT
            else m.TransactionParties9(dbtr_acct=counterparty)
        )
        if counterparty
        else None
    )
    return m.ReportEntry11(
        ntry_ref=entry.reference,
        amt=amount,
        cdt_dbt_ind=_code(entry.direction),
        sts=m.EntryStatus1Choice(cd="BOOK"),
        bookg_dt=m.DateAndDateTime2Choice(dt_tm=xml_now(entry.booked_at)),
        val_dt=m.DateAndDateTime2Choice(dt=xml_date(entry.booked_at.astimezone(WIB).date())),
        acct_svcr_ref=entry.bank_reference or None,
        bk_tx_cd=m.BankTransactionCodeStructure4(
            domn=m.BankTransactionCodeStructure5(
                cd=_DOMAIN,
                fmly=m.BankTransactionCodeStructure6(
                    cd=family, sub_fmly_cd="RRTN" if is_return else "DMCT"
                ),
            )
        ),
        ntry_dtls=[
            m.EntryDetails10(
                tx_dtls=[
                    m.EntryTransaction11(
                        refs=refs,
                        amt=amount,
                        cdt_dbt_ind=_code(entry.direction),
                        rltd_pties=parties,
                        rtr_inf=m.PaymentReturnReason5(rsn=m.ReturnReason5Choice(cd=_RETURN_REASON))
                        if is_return
                        else None,
                    )
                ]
            )
        ],
    )


def build_camt053(statement: Statement, *, bank_code: str, created: datetime) -> bytes:
    """Write the statement with opening (OPBD) and closing (CLBD) booked balances."""
    start = datetime.combine(statement.day, time(0), WIB)
    net = statement.closing_balance - statement.opening_balance
    document = m.Document(
        bk_to_cstmr_stmt=m.BankToCustomerStatementV09(
            grp_hdr=m.GroupHeader81(
                msg_id=f"{statement.statement_id}-{created:%H%M%S}", cre_dt_tm=xml_now(created)
            ),
            stmt=[
                m.AccountStatement10(
                    id=statement.statement_id,
                    cre_dt_tm=xml_now(created),
                    fr_to_dt=m.DateTimePeriod1(
                        fr_dt_tm=xml_now(start),
                        to_dt_tm=xml_now(start + timedelta(days=1, seconds=-1)),
                    ),
                    acct=m.CashAccount41(
                        id=m.AccountIdentification4Choice(
                            othr=m.GenericAccountIdentification1(id=statement.account)
                        ),
                        ccy=CURRENCY,
                        svcr=agent(m, bank_code),
                    ),
                    bal=[
                        _balance("OPBD", statement.opening_balance, statement.day),
                        _balance("CLBD", statement.closing_balance, statement.day),
                    ],
                    txs_summry=m.TotalTransactions6(
                        ttl_ntries=m.NumberAndSumOfTransactions4(
                            nb_of_ntries=str(len(statement.entries)),
                            sum=rupiah(sum(e.amount for e in statement.entries)),
                            ttl_net_ntry=m.AmountAndDirection35(
                                amt=rupiah(abs(net)),
                                cdt_dbt_ind=m.CreditDebitCode.CRDT
                                if net >= 0
                                else m.CreditDebitCode.DBIT,
                            ),
                        )
                    ),
                    ntry=[_entry(e) for e in statement.entries],
                )
            ],
        )
    )
    return to_xml(document)


def read_camt053(data: bytes) -> Statement:
    """Parse one account statement and refuse it unless it adds up."""
    excerpt = data[:300].decode("utf-8", "replace")

    def inconsistent(why: str) -> BankResponseInvalid:
        return BankResponseInvalid(
            f"statement rejected: {why}",
            kind=AnomalyKind.STATEMENT_INCONSISTENT,
            excerpt=excerpt,
        )

    document = from_xml(data, m.Document)
    statements = document.bk_to_cstmr_stmt.stmt
    if len(statements) != 1:
        raise inconsistent(f"expected one account statement, got {len(statements)}")
    stmt = statements[0]
    balances: dict[str, tuple[int, date]] = {}
    for bal in stmt.bal:
        kind = bal.tp.cd_or_prtry.cd or ""
        value = parse_rupiah(bal.amt.value, reference=None, excerpt=excerpt)
        signed = value if bal.cdt_dbt_ind is m.CreditDebitCode.CRDT else -value
        if bal.dt.dt is None:
            raise inconsistent(f"balance {kind} has no date")
        balances[kind] = (signed, bal.dt.dt.to_date())
    if "OPBD" not in balances or "CLBD" not in balances:
        raise inconsistent("opening (OPBD) and closing (CLBD) balances are both required")
    entries = []
    for ntry in stmt.ntry:
        if ntry.amt.ccy != CURRENCY:
            raise inconsistent(f"entry in {ntry.amt.ccy}, not {CURRENCY}")
        tx = ntry.ntry_dtls[0].tx_dtls[0] if ntry.ntry_dtls and ntry.ntry_dtls[0].tx_dtls else None
        refs = tx.refs if tx else None
        if refs is None or not (refs.tx_id or refs.end_to_end_id):
            raise inconsistent(f"entry {ntry.ntry_ref} carries no transaction reference")
        is_return = tx is not None and tx.rtr_inf is not None
        reference = (refs.tx_id if is_return else refs.end_to_end_id) or ""
        booked = ntry.bookg_dt.dt_tm if ntry.bookg_dt else None
        if booked is None:
            raise inconsistent(f"entry {reference} has no booking time")
        parties = tx.rltd_pties if tx else None
        account = (parties.cdtr_acct or parties.dbtr_acct) if parties else None
        entries.append(
            StatementEntry(
                reference=reference,
                amount=parse_rupiah(ntry.amt.value, reference=reference, excerpt=excerpt),
                direction=_direction(ntry.cdt_dbt_ind),
                booked_at=booked.to_datetime(),
                bank_reference=ntry.acct_svcr_ref or "",
                counterparty=account.id.othr.id
                if account and account.id and account.id.othr
                else "",
                reversal_of=refs.end_to_end_id if is_return else None,
            )
        )
    account_id = stmt.acct.id.othr.id if stmt.acct.id and stmt.acct.id.othr else ""
    statement = Statement(
        account=account_id,
        day=balances["CLBD"][1],
        opening_balance=balances["OPBD"][0],
        closing_balance=balances["CLBD"][0],
        entries=tuple(entries),
        statement_id=stmt.id,
        raw=data,
    )
    if not statement.is_balanced():
        raise inconsistent("opening balance plus entries does not equal the closing balance")
    summary = stmt.txs_summry.ttl_ntries if stmt.txs_summry else None
    if (
        summary is not None
        and summary.nb_of_ntries is not None
        and int(summary.nb_of_ntries) != len(entries)
    ):
        raise inconsistent(f"summary counts {summary.nb_of_ntries} entries, found {len(entries)}")
    return statement
