"""`Iso20022Adapter`: a `BankAdapter` over HTTP speaking pacs.008/002/028/004 and camt.053.

Retries keep the same reference (EndToEndId), so a retried credit transfer is the same transfer
to the bank; only the message id changes, as ISO 20022 requires of a new message. Transport
errors, timeouts and 5xx answers are retried; when retries run out the outcome is unknown.
The httpx transport is injectable, so tests run the adapter against the in-process bank server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import httpx

from adapters.answers import raise_if_rejected
from adapters.base import (
    AccountRef,
    AnomalyKind,
    BankResponseInvalid,
    Clock,
    ReferenceConflict,
    Statement,
    TransferNotReversible,
    TransferRejected,
    TransferRequest,
    TransferResult,
    TransferState,
    check_reference,
    utc_now,
)
from adapters.httpbank import HttpBankClient
from adapters.iso20022.bah import to_business_message
from adapters.iso20022.camt053 import read_camt053
from adapters.iso20022.pacs002 import read_pacs002
from adapters.iso20022.pacs004 import ReturnInstruction, build_pacs004
from adapters.iso20022.pacs008 import build_pacs008
from adapters.iso20022.pacs028 import build_pacs028

XML_HEADERS = {"Content-Type": "application/xml", "Accept": "application/xml"}


class Iso20022Adapter(HttpBankClient):
    """One bank reached over HTTP; the gateway's settlement account there is the debtor."""

    def __init__(
        self,
        *,
        base_url: str,
        settlement_account: AccountRef,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utc_now,
        business_message_to: str | None = None,
    ) -> None:
        """`business_message_to`: the bank's BIC or member id, for banks (BI-FAST, CBPR+) that
        take every message as a head.001 business message addressed to them."""
        super().__init__(
            base_url=base_url,
            transport=transport,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            sleep=sleep,
            clock=clock,
        )
        self.settlement_account = settlement_account
        self.business_message_to = business_message_to

    @property
    def bank_code(self) -> str:
        return self.settlement_account.bank_code

    @property
    def honours_expiry(self) -> bool:
        """pacs.008 carries the expiry as SttlmTmReq/RjctTm, which the bank must honour."""
        return True

    def _outgoing(self, document: bytes) -> bytes:
        if self.business_message_to is None:
            return document
        return to_business_message(
            document,
            sender=self.bank_code,
            receiver=self.business_message_to,
            created=self._clock(),
        )

    def _message_id(self, prefix: str) -> str:
        return f"SP{prefix}-{uuid.uuid4().hex[:28]}"

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        reference: str,
        build: Callable[[], bytes] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; every attempt rebuilds the message (new id, same reference)."""

        def attempt() -> httpx.Response:
            return self._sent(
                lambda: self._http.request(
                    method,
                    path,
                    content=self._outgoing(build()) if build else None,
                    params=params,
                    headers=XML_HEADERS,
                )
            )

        return self._classify(self._with_retries(reference, attempt), reference)

    def _classify(self, response: httpx.Response, reference: str) -> httpx.Response:
        status = response.status_code
        if status == 200:
            return response
        message = _message_of(response)
        if status == 409:
            raise ReferenceConflict(message, reference=reference)
        if status == 422:
            raise TransferNotReversible(message, reference=reference)
        if status == 400:
            # The bank could not read our message, so it processed nothing.
            raise TransferRejected(message, reference=reference, reason_code="FF01")
        raise BankResponseInvalid(
            f"unexpected HTTP {status} from {self.bank_code}",
            kind=AnomalyKind.UNEXPECTED_RESPONSE,
            reference=reference,
            excerpt=response.text,
        )

    def submit(self, transfer: TransferRequest) -> TransferResult:
        response = self._exchange(
            "POST",
            "/iso20022/pacs.008",
            reference=transfer.reference,
            build=lambda: build_pacs008(
                transfer,
                debtor=self.settlement_account,
                message_id=self._message_id("CT"),
                created=self._clock(),
            ),
        )
        result = read_pacs002(
            response.content,
            reference=transfer.reference,
            expected_amount=transfer.amount,
            sent=response.request.content,
        )
        return raise_if_rejected(result)

    def status(self, reference: str, *, expected_amount: int | None = None) -> TransferResult:
        check_reference(reference)
        response = self._exchange(
            "POST",
            "/iso20022/pacs.028",
            reference=reference,
            build=lambda: build_pacs028(
                reference, message_id=self._message_id("SR"), created=self._clock()
            ),
        )
        return read_pacs002(
            response.content,
            reference=reference,
            expected_amount=expected_amount,
            sent=response.request.content,
        )

    def reverse(self, reference: str, *, reversal_reference: str, reason: str) -> TransferResult:
        """Return a settled transfer; a repeat with the same reversal reference is a no-op."""
        check_reference(reversal_reference)
        earlier = self.status(reversal_reference)
        if earlier.state is not TransferState.NOT_FOUND:
            return raise_if_rejected(earlier)
        original = self.status(reference)
        if original.state is not TransferState.SETTLED or original.amount is None:
            raise TransferNotReversible(
                f"transfer {reference} is {original.state.value}; only a settled transfer "
                "can be reversed",
                reference=reference,
            )
        amount = original.amount
        response = self._exchange(
            "POST",
            "/iso20022/pacs.004",
            reference=reversal_reference,
            build=lambda: build_pacs004(
                ReturnInstruction(
                    message_id=self._message_id("RT"),
                    original_reference=reference,
                    return_reference=reversal_reference,
                    amount=amount,
                    reason=reason,
                ),
                created=self._clock(),
            ),
        )
        result = read_pacs002(
            response.content,
            reference=reversal_reference,
            expected_amount=amount,
            sent=response.request.content,
        )
        return raise_if_rejected(result)

    def statement(self, day: date) -> Statement:
        response = self._exchange(
            "GET",
            "/iso20022/camt.053",
            reference=f"STMT-{day:%Y%m%d}",
            params={"date": day.isoformat()},
        )
        return read_camt053(response.content, account=self.settlement_account.number, day=day)


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("message", body))
    return str(body)


def create(config: Mapping[str, Any]) -> Iso20022Adapter:
    """Entry-point factory. Keys: base_url, bank_code, settlement_account, account_name,
    timeout_s, max_attempts, backoff_s, business_message_to."""
    return Iso20022Adapter(
        base_url=str(config["base_url"]),
        settlement_account=AccountRef(
            str(config["bank_code"]),
            str(config["settlement_account"]),
            str(config.get("account_name", "Satu Pintu")),
        ),
        timeout_s=float(config.get("timeout_s", 5.0)),
        max_attempts=int(config.get("max_attempts", 3)),
        backoff_s=float(config.get("backoff_s", 0.2)),
        business_message_to=str(config["business_message_to"])
        if config.get("business_message_to")
        else None,
    )
