"""camt.053 bank-to-customer statement: written by the simulated bank (001.09), read by clients.

The reader accepts the versions banks send (001.02, 001.04 and 001.08 are all common, 001.09 is
the one written here), bare or in a Business Application Header envelope, and maps them all to
one `Statement`. A statement is accepted only when it is in rupiah and adds up: every balance
and entry in IDR, opening balance plus entries equals closing balance, and the entry count and
sum match the summary. Anything else is an anomaly naming the element at fault, because
reconciliation on a partial or foreign-currency statement would report payouts as missing.

Accounts are read whether identified by IBAN or by a domestic number (`Othr/Id`). An entry is
identified by its end-to-end id (a return by its own TxId, naming the original), else by the
bank's own reference (`AcctSvcrRef`) alone: such an entry is a movement the gateway did not
order, which reconciliation must see rather than lose. A booking date without a time is read as
the start of that day in WIB, the bank's book day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pyiso20022.camt.camt_053_001_02 import camt_053_001_02 as m02
from pyiso20022.camt.camt_053_001_04 import camt_053_001_04 as m04
from pyiso20022.camt.camt_053_001_08 import camt_053_001_08 as m08
from pyiso20022.camt.camt_053_001_09 import camt_053_001_09 as m
from xsdata.models.datatype import XmlDate

from adapters.base import (
    CURRENCY,
    WIB,
    AnomalyKind,
    EntryDirection,
    Statement,
    StatementEntry,
)
from adapters.checks import parse_rupiah
from adapters.iso20022.agents import agent
from adapters.iso20022.xml import (
    code,
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

# Bank transaction codes (ISO external code set): payments domain, issued / received credit
# transfers, domestic credit transfer or return.
_DOMAIN = "PMNT"
_RETURN_REASON = "FOCR"
VERSIONS = {message_name(bindings.Document): bindings.Document for bindings in (m02, m04, m08, m)}
# Opening balance codes: OPBD, or PRCD (previously closed booked) which many banks send instead.
_OPENING = ("OPBD", "PRCD")
_CLOSING = "CLBD"


def _direction(indicator: str | None) -> EntryDirection:
    return EntryDirection.CREDIT if indicator == "CRDT" else EntryDirection.DEBIT


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


def read_camt053(data: bytes, *, account: str | None = None, day: date | None = None) -> Statement:
    """Parse one account statement and refuse it unless it is in rupiah and adds up, and (when
    given) is the statement of `account` closing on `day`: another account's or another day's
    statement would reconcile cleanly against the wrong payouts."""
    excerpt = data[:300].decode("utf-8", "replace")

    def refuse(field: str, why: str) -> Exception:
        return refusal(field, why, kind=AnomalyKind.STATEMENT_INCONSISTENT, excerpt=excerpt)

    document = read_message(data, VERSIONS).document
    statements = document.bk_to_cstmr_stmt.stmt
    path = "BkToCstmrStmt/Stmt"
    if len(statements) != 1:
        raise refuse(path, f"expected one account statement, got {len(statements)}")
    stmt = statements[0]
    if stmt.acct.ccy not in (None, CURRENCY):
        raise refuse(f"{path}/Acct/Ccy", f"the account is kept in {stmt.acct.ccy}, not {CURRENCY}")
    holder = _account_id(stmt.acct, f"{path}/Acct", refuse)
    if account is not None and holder != account:
        raise refuse(f"{path}/Acct/Id", f"a statement of {holder}, not of {account}")
    balances: dict[str, tuple[int, date]] = {}
    closing_field = f"{path}/Bal"
    for index, bal in enumerate(stmt.bal, start=1):
        field = f"{path}/Bal[{index}]"
        kind = code(bal.tp.cd_or_prtry.cd) or bal.tp.cd_or_prtry.prtry or ""
        value = _rupiah(bal.amt, f"{field}/Amt", excerpt, refuse)
        if kind in balances:
            raise refuse(f"{field}/Tp/CdOrPrtry/Cd", f"a second {kind} balance")
        booked_on = _when(bal.dt, f"{field}/Dt", refuse).astimezone(WIB).date()
        balances[kind] = (value if code(bal.cdt_dbt_ind) == "CRDT" else -value, booked_on)
        if kind == _CLOSING:
            closing_field = f"{field}/Dt"
    opening = next((balances[kind] for kind in _OPENING if kind in balances), None)
    if opening is None or _CLOSING not in balances:
        raise refuse(
            f"{path}/Bal", "an opening (OPBD or PRCD) and a closing (CLBD) balance are required"
        )
    if day is not None and balances[_CLOSING][1] != day:
        raise refuse(
            closing_field, f"the statement closes on {balances[_CLOSING][1]}, not on {day}"
        )
    entries = tuple(
        _statement_entry(ntry, f"{path}/Ntry[{index}]", excerpt, refuse)
        for index, ntry in enumerate(stmt.ntry, start=1)
    )
    statement = Statement(
        account=holder,
        day=balances[_CLOSING][1],
        opening_balance=opening[0],
        closing_balance=balances[_CLOSING][0],
        entries=entries,
        statement_id=stmt.id,
        raw=data,
    )
    if not statement.is_balanced():
        raise refuse(
            f"{path}/Bal", "opening balance plus entries does not equal the closing balance"
        )
    summary = stmt.txs_summry.ttl_ntries if stmt.txs_summry else None
    field = f"{path}/TxsSummry/TtlNtries"
    if summary is None:
        return statement
    counted = summary.nb_of_ntries
    if counted is not None and (not counted.isdigit() or int(counted) != len(entries)):
        raise refuse(
            f"{field}/NbOfNtries",
            f"counts {summary.nb_of_ntries} entries, the statement has {len(entries)}",
        )
    if summary.sum is not None and summary.sum != sum(entry.amount for entry in entries):
        raise refuse(f"{field}/Sum", f"{summary.sum} is not the sum of the entries")
    return statement


def _rupiah(money: Any, field: str, excerpt: str, refuse: Any) -> int:
    if money.ccy != CURRENCY:
        raise refuse(f"{field}/@Ccy", f"{money.ccy}, not {CURRENCY}: only rupiah is reconciled")
    return parse_rupiah(money.value, reference=None, excerpt=excerpt, field=field)


def _when(choice: Any, field: str, refuse: Any) -> datetime:
    """A date-or-date-time choice as an instant: a date alone is the start of that day in WIB,
    the bank's book day, and a time without a zone is read in WIB too."""
    if isinstance(choice.dt, XmlDate):
        return datetime.combine(choice.dt.to_date(), time(0), WIB)
    instant = moment(choice.dt_tm, f"{field}/DtTm", refuse)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=WIB)


def _account_id(account: Any, field: str, refuse: Any) -> str:
    identification = account.id
    if identification is not None and identification.iban:
        return str(identification.iban)
    if identification is not None and identification.othr is not None:
        return str(identification.othr.id)
    raise refuse(f"{field}/Id", "names neither an IBAN nor another account identification")


def _status(status: Any) -> str | None:
    """Entry status: a bare code up to 001.04, a code-or-proprietary choice from 001.08 on."""
    if hasattr(status, "cd"):
        return code(status.cd) or status.prtry
    return code(status)


def _statement_entry(ntry: Any, field: str, excerpt: str, refuse: Any) -> StatementEntry:
    amount = _rupiah(ntry.amt, f"{field}/Amt", excerpt, refuse)
    status = _status(ntry.sts)
    if status != "BOOK":
        raise refuse(f"{field}/Sts", f"{status} is not a booked entry, and a statement lists those")
    transactions = [tx for details in ntry.ntry_dtls for tx in details.tx_dtls]
    if len(transactions) > 1:
        raise refuse(
            f"{field}/NtryDtls",
            f"a batch booking of {len(transactions)} transactions; each payout is booked alone",
        )
    tx = transactions[0] if transactions else None
    refs = tx.refs if tx is not None else None
    end_to_end = given(refs.end_to_end_id) if refs is not None else None
    own_id = given(refs.tx_id) if refs is not None else None
    is_return = tx is not None and tx.rtr_inf is not None
    reference = (own_id if is_return else end_to_end or own_id) or ""
    bank_reference = ntry.acct_svcr_ref or (refs.acct_svcr_ref if refs is not None else None) or ""
    if not reference and not bank_reference:
        raise refuse(
            f"{field}/NtryDtls/TxDtls/Refs",
            "no EndToEndId, TxId or AcctSvcrRef identifies the entry",
        )
    if ntry.bookg_dt is None:
        raise refuse(f"{field}/BookgDt", "a booked entry needs a booking date")
    booked = _when(ntry.bookg_dt, f"{field}/BookgDt", refuse)
    direction = _direction(code(ntry.cdt_dbt_ind))
    parties = tx.rltd_pties if tx is not None else None
    side = "CdtrAcct" if direction is EntryDirection.DEBIT else "DbtrAcct"
    account = (
        (parties.cdtr_acct if direction is EntryDirection.DEBIT else parties.dbtr_acct)
        if parties is not None
        else None
    )
    return StatementEntry(
        reference=reference,
        amount=amount,
        direction=direction,
        booked_at=booked,
        bank_reference=bank_reference,
        counterparty=_account_id(account, f"{field}/NtryDtls/TxDtls/RltdPties/{side}", refuse)
        if account is not None
        else "",
        reversal_of=end_to_end if is_return else None,
    )
