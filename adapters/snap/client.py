"""`SnapAdapter`: a `BankAdapter` over SNAP (B2B access token, HMAC-signed service calls).

Retries keep the `partnerReferenceNo` (the gateway reference) and take a fresh `X-EXTERNAL-ID`
and timestamp each time, as SNAP requires. A bank that answers "duplicate partnerReferenceNo"
has the transfer already: the adapter then asks for its status instead of failing, which makes
`submit` idempotent over a standard that is not. An expired token is renewed once per call.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from adapters.answers import raise_if_rejected
from adapters.base import (
    CURRENCY,
    WIB,
    AccountRef,
    AnomalyKind,
    BankResponseInvalid,
    Clock,
    EntryDirection,
    OutcomeUnknown,
    ReferenceConflict,
    Statement,
    StatementEntry,
    TransferNotReversible,
    TransferRejected,
    TransferRequest,
    TransferResult,
    TransferState,
    check_reference,
    utc_now,
)
from adapters.checks import map_status, parse_rupiah, verify_result
from adapters.httpbank import HttpBankClient
from adapters.retry import Retryable
from adapters.snap import codes
from adapters.snap.signing import dump, sign_service, sign_token_request, snap_timestamp

PREFIX = "/snap/v1.0"
_SUCCESS = {codes.SUCCESS: TransferState.SETTLED, codes.IN_PROGRESS: TransferState.PENDING}
_REFUSED = {*codes.REFUSALS.values(), codes.INVALID_FIELD, codes.BAD_REQUEST, codes.UNAUTHORIZED}


class SnapAdapter(HttpBankClient):
    """One bank reached over SNAP; `source_account` is the gateway's settlement account."""

    def __init__(
        self,
        *,
        base_url: str,
        source_account: AccountRef,
        client_id: str,
        private_key: rsa.RSAPrivateKey,
        client_secret: str,
        channel_id: str = "95221",
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(
            base_url=base_url,
            transport=transport,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            sleep=sleep,
            clock=clock,
        )
        self.source_account = source_account
        self._client_id = client_id
        self._private_key = private_key
        self._secret = client_secret
        self._channel_id = channel_id
        self._token: tuple[str, datetime] | None = None
        self._token_lock = threading.Lock()

    @property
    def bank_code(self) -> str:
        return self.source_account.bank_code

    # -- transport ------------------------------------------------------------------------

    def _access_token(self, reference: str) -> str:
        with self._token_lock:
            now = self._clock()
            if self._token is not None and self._token[1] > now:
                return self._token[0]
            timestamp = snap_timestamp(now)
            try:
                response = self._http.post(
                    f"{PREFIX}/access-token/b2b",
                    content=dump({"grantType": "client_credentials"}),
                    headers={
                        "Content-Type": "application/json",
                        "X-TIMESTAMP": timestamp,
                        "X-CLIENT-KEY": self._client_id,
                        "X-SIGNATURE": sign_token_request(
                            self._private_key, self._client_id, timestamp
                        ),
                    },
                )
            except httpx.TransportError as exc:
                raise OutcomeUnknown(
                    f"access token from {self.bank_code} unavailable: {exc}", reference=reference
                ) from exc
            body = _json(response, reference)
            token = body.get("accessToken")
            if response.status_code != 200 or not isinstance(token, str):
                raise TransferRejected(
                    f"{self.bank_code} refused an access token: {body.get('responseMessage')}",
                    reference=reference,
                    reason_code=str(body.get("responseCode", response.status_code)),
                )
            # Renew a minute early so a token never expires between signing and arrival.
            lifetime = max(int(body.get("expiresIn", 900)) - 60, 1)
            self._token = (token, now + timedelta(seconds=lifetime))
            return token

    def _call(self, path: str, body: dict[str, Any], reference: str) -> tuple[int, dict[str, Any]]:
        """POST a signed service call with retries; returns (HTTP status, parsed answer)."""
        content = dump(body)

        def attempt() -> tuple[int, dict[str, Any]]:
            token = self._access_token(reference)
            timestamp = snap_timestamp(self._clock())
            full_path = f"{PREFIX}{path}"
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "X-TIMESTAMP": timestamp,
                "X-SIGNATURE": sign_service(
                    self._secret, "POST", full_path, token, content, timestamp
                ),
                "X-PARTNER-ID": self._client_id,
                # Unique per day: a random 32-digit number, never reused across retries.
                "X-EXTERNAL-ID": str(uuid.uuid4().int)[:32],
                "CHANNEL-ID": self._channel_id,
            }
            response = self._sent(
                lambda: self._http.post(full_path, content=content, headers=headers)
            )
            answer = _json(response, reference)
            if _meaning(answer) == codes.INVALID_TOKEN:
                self._token = None
                raise Retryable("access token expired")
            return response.status_code, answer

        return self._with_retries(reference, attempt)

    # -- the protocol ----------------------------------------------------------------------

    def submit(self, transfer: TransferRequest) -> TransferResult:
        intrabank = transfer.creditor.bank_code == self.bank_code
        body: dict[str, Any] = {
            "partnerReferenceNo": transfer.reference,
            "amount": {"value": f"{transfer.amount}.00", "currency": CURRENCY},
            "beneficiaryAccountNo": transfer.creditor.number,
            "sourceAccountNo": self.source_account.number,
            "remark": transfer.remittance,
            "transactionDate": snap_timestamp(self._clock()),
            "additionalInfo": {"kind": transfer.kind.value},
        }
        if not intrabank:
            body["beneficiaryBankCode"] = transfer.creditor.bank_code
            body["beneficiaryAccountName"] = transfer.creditor.name
        path = "/transfer-intrabank" if intrabank else "/transfer-interbank"
        _, answer = self._call(path, body, transfer.reference)
        meaning = _meaning(answer)
        if meaning == codes.DUPLICATE_PARTNER_REFERENCE:
            return self._already_received(transfer)
        if meaning in _SUCCESS:
            result = self._result(answer, "partnerReferenceNo", _SUCCESS[meaning])
            return verify_result(
                result, reference=transfer.reference, expected_amount=transfer.amount
            )
        raise self._refusal(answer, transfer.reference)

    def _already_received(self, transfer: TransferRequest) -> TransferResult:
        """The bank holds this reference: its status is the answer, if the terms agree."""
        try:
            result = self.status(transfer.reference, expected_amount=transfer.amount)
        except BankResponseInvalid as exc:
            if exc.kind is AnomalyKind.AMOUNT_MISMATCH:
                raise ReferenceConflict(exc.message, reference=transfer.reference) from exc
            raise
        if result.state is TransferState.NOT_FOUND:
            raise BankResponseInvalid(
                f"bank calls {transfer.reference} a duplicate but cannot find it",
                kind=AnomalyKind.UNEXPECTED_RESPONSE,
                reference=transfer.reference,
            )
        return raise_if_rejected(result)

    def status(self, reference: str, *, expected_amount: int | None = None) -> TransferResult:
        check_reference(reference)
        _, answer = self._call(
            "/transfer/status",
            {"originalPartnerReferenceNo": reference, "serviceCode": codes.SERVICE_INTRABANK},
            reference,
        )
        if _meaning(answer) != codes.SUCCESS:
            raise self._anomaly(answer, reference, AnomalyKind.UNKNOWN_STATUS_CODE)
        excerpt = json.dumps(answer)[:300]
        state = map_status(
            str(answer.get("latestTransactionStatus", "")),
            codes.LATEST_STATUS,
            reference=reference,
            excerpt=excerpt,
        )
        result = self._result(answer, "originalPartnerReferenceNo", state)
        if state is TransferState.REJECTED:
            result = TransferResult(
                reference=result.reference,
                state=state,
                amount=result.amount,
                bank_reference=result.bank_reference,
                reason_code=str(answer.get("originalResponseCode") or "NARR"),
                reason=str(answer.get("transactionStatusDesc", "")),
            )
        return verify_result(
            result, reference=reference, expected_amount=expected_amount, excerpt=excerpt
        )

    def reverse(self, reference: str, *, reversal_reference: str, reason: str) -> TransferResult:
        check_reference(reference)
        check_reference(reversal_reference)
        _, answer = self._call(
            "/transfer/reversal",
            {
                "originalPartnerReferenceNo": reference,
                "partnerReferenceNo": reversal_reference,
                "reason": reason[:140],
            },
            reversal_reference,
        )
        meaning = _meaning(answer)
        if meaning == codes.DUPLICATE_PARTNER_REFERENCE:
            return raise_if_rejected(self.status(reversal_reference))
        if meaning == codes.CONFLICT:
            raise TransferNotReversible(
                str(answer.get("responseMessage", "not reversible")), reference=reference
            )
        if meaning in _SUCCESS:
            result = self._result(answer, "partnerReferenceNo", _SUCCESS[meaning])
            return verify_result(result, reference=reversal_reference, expected_amount=None)
        raise self._refusal(answer, reversal_reference)

    def statement(self, day: date) -> Statement:
        start = datetime.combine(day, dtime(0), WIB)
        reference = f"STMT-{day:%Y%m%d}"
        _, answer = self._call(
            "/bank-statement",
            {
                "accountNo": self.source_account.number,
                "fromDateTime": start.isoformat(),
                "toDateTime": (start + timedelta(days=1, seconds=-1)).isoformat(),
            },
            reference,
        )
        if _meaning(answer) != codes.SUCCESS:
            raise self._anomaly(answer, reference, AnomalyKind.UNEXPECTED_RESPONSE)
        return _statement(answer, day=day, account=self.source_account.number)

    # -- answers ---------------------------------------------------------------------------

    def _result(
        self, answer: dict[str, Any], ref_field: str, state: TransferState
    ) -> TransferResult:
        reference = str(answer.get(ref_field, ""))
        money = answer.get("amount")
        amount = None
        if isinstance(money, dict):
            if money.get("currency") != CURRENCY:
                raise BankResponseInvalid(
                    f"amount in {money.get('currency')}, not {CURRENCY}",
                    kind=AnomalyKind.AMOUNT_MISMATCH,
                    reference=reference,
                )
            amount = parse_rupiah(money.get("value"), reference=reference)
        settled = answer.get("transactionDate")
        return TransferResult(
            reference=reference,
            state=state,
            amount=amount,
            bank_reference=str(answer.get("referenceNo") or answer.get("originalReferenceNo") or "")
            or None,
            settled_at=datetime.fromisoformat(settled)
            if isinstance(settled, str) and state is TransferState.SETTLED
            else None,
        )

    def _refusal(self, answer: dict[str, Any], reference: str) -> Exception:
        meaning = _meaning(answer)
        if meaning in _REFUSED:
            return TransferRejected(
                f"{self.bank_code} refused {reference}: {answer.get('responseMessage', '')}",
                reference=reference,
                reason_code=str(answer.get("responseCode")),
            )
        return self._anomaly(answer, reference, AnomalyKind.UNKNOWN_STATUS_CODE)

    def _anomaly(
        self, answer: dict[str, Any], reference: str, kind: AnomalyKind
    ) -> BankResponseInvalid:
        return BankResponseInvalid(
            f"{self.bank_code} answered {answer.get('responseCode')!r} "
            f"({answer.get('responseMessage', '')}) about {reference}",
            kind=kind,
            reference=reference,
            excerpt=json.dumps(answer)[:300],
        )


def _json(response: httpx.Response, reference: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise BankResponseInvalid(
            f"answer about {reference} is not JSON",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=response.text,
        ) from exc
    if not isinstance(body, dict) or not isinstance(body.get("responseCode"), str):
        raise BankResponseInvalid(
            f"answer about {reference} has no responseCode",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=response.text,
        )
    return body


def _meaning(answer: dict[str, Any]) -> tuple[int, str] | None:
    parts = codes.split(str(answer.get("responseCode", "")))
    return (parts[0], parts[2]) if parts else None


def _statement(answer: dict[str, Any], *, day: date, account: str) -> Statement:
    def rupiah(money: Any, reference: str | None) -> int:
        if not isinstance(money, dict) or money.get("currency") != CURRENCY:
            raise BankResponseInvalid(
                "statement amount missing or not in IDR",
                kind=AnomalyKind.MALFORMED_MESSAGE,
                reference=reference,
            )
        return parse_rupiah(money.get("value"), reference=reference)

    balances = answer.get("balance") or [{}]
    entries = []
    for item in answer.get("detailData", []):
        info = item.get("detailInfo", {})
        reference = str(info.get("partnerReferenceNo", ""))
        entries.append(
            StatementEntry(
                reference=reference,
                amount=rupiah(item.get("amount"), reference),
                direction=EntryDirection.CREDIT
                if item.get("type") == "CREDIT"
                else EntryDirection.DEBIT,
                booked_at=datetime.fromisoformat(str(item.get("transactionDate"))),
                bank_reference=str(info.get("referenceNo", "")),
                counterparty=str(item.get("remark", "")),
                reversal_of=info.get("reversalOf"),
            )
        )
    statement = Statement(
        account=account,
        day=day,
        opening_balance=rupiah(balances[0].get("startingBalance"), None),
        closing_balance=rupiah(balances[0].get("endingBalance"), None),
        entries=tuple(entries),
        statement_id=str(answer.get("referenceNo", "")),
        raw=json.dumps(answer).encode(),
    )
    if not statement.is_balanced():
        raise BankResponseInvalid(
            "statement does not add up: opening plus entries differs from closing",
            kind=AnomalyKind.STATEMENT_INCONSISTENT,
        )
    return statement


def create(config: Mapping[str, Any]) -> SnapAdapter:
    """Entry-point factory. Keys: base_url, bank_code, source_account, client_id,
    private_key_file (PEM), client_secret, channel_id, timeout_s, max_attempts."""
    key = load_pem_private_key(Path(str(config["private_key_file"])).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("SNAP needs an RSA private key for the access token signature")
    return SnapAdapter(
        base_url=str(config["base_url"]),
        source_account=AccountRef(str(config["bank_code"]), str(config["source_account"])),
        client_id=str(config["client_id"]),
        private_key=key,
        client_secret=str(config["client_secret"]),
        channel_id=str(config.get("channel_id", "95221")),
        timeout_s=float(config.get("timeout_s", 5.0)),
        max_attempts=int(config.get("max_attempts", 3)),
    )
