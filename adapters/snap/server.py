"""A SNAP bank server backed by a `SimulatedBank`, checking what a real SNAP gateway checks.

Every service call must carry a live B2B access token, an HMAC-SHA512 signature over the
request, a timestamp within the allowed skew, the partner id and channel id, and an
`X-EXTERNAL-ID` not seen before that day; transfers are refused with "duplicate
partnerReferenceNo" when the reference was used before (the client then asks for the status).
Faults come from the bank's `FrontDesk`, so a seed means the same faults as on the ISO server.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from adapters.answers import STATUS_CODES, Answer
from adapters.bank import SimulatedBank
from adapters.base import (
    CURRENCY,
    WIB,
    AccountRef,
    BankAdapterError,
    ReferenceConflict,
    TransferKind,
    TransferNotReversible,
    TransferRequest,
)
from adapters.faults import FaultInjector
from adapters.frontdesk import Delivery, FrontDesk
from adapters.snap import codes
from adapters.snap.signing import verify_service, verify_token_request

PREFIX = "/snap/v1.0"


@dataclass(frozen=True, slots=True)
class SnapPartner:
    """A partner registered with the bank: its id, RSA public key, HMAC secret and channel."""

    client_id: str
    public_key: rsa.RSAPublicKey
    client_secret: str
    channel_id: str = "95221"


class SnapError(Exception):
    def __init__(self, meaning: tuple[int, str], service: str, message: str) -> None:
        super().__init__(message)
        self.status = meaning[0]
        self.code = codes.response_code(meaning, service)
        self.message = message


def duplicate(service: str) -> SnapError:
    return SnapError(codes.DUPLICATE_PARTNER_REFERENCE, service, "Duplicate partnerReferenceNo")


def _money(amount: int) -> dict[str, str]:
    return {"value": f"{amount}.00", "currency": CURRENCY}


def create_snap_app(
    bank: SimulatedBank,
    partner: SnapPartner,
    *,
    faults: FaultInjector | None = None,
    sleep: Callable[[float], None] | None = None,
    token_ttl_s: int = 900,
    max_skew_s: int = 300,
) -> FastAPI:
    desk = FrontDesk(bank, faults)
    app = FastAPI(title=f"Simulated bank {bank.bank_code} (SNAP)")
    app.state.desk = desk
    tokens: dict[str, datetime] = {}
    seen_external_ids: set[tuple[str, str]] = set()
    lock = threading.Lock()

    async def wait(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
        elif seconds > 0:
            await asyncio.sleep(seconds)

    @app.exception_handler(SnapError)
    async def snap_error(_: Request, exc: SnapError) -> Response:
        return JSONResponse({"responseCode": exc.code, "responseMessage": exc.message}, exc.status)

    def timestamp_ok(value: str, service: str) -> None:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise SnapError(
                codes.INVALID_FIELD, service, "Invalid Field Format X-TIMESTAMP"
            ) from None
        if moment.tzinfo is None or abs(moment - bank.clock()) > timedelta(seconds=max_skew_s):
            raise SnapError(codes.UNAUTHORIZED, service, "Unauthorized. X-TIMESTAMP out of range")

    async def authenticate(request: Request, service: str) -> dict[str, Any]:
        """Check every SNAP header of a service call and return the parsed body."""
        raw = await request.body()
        h = request.headers
        for name in ("X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"):
            if not h.get(name):
                raise SnapError(codes.INVALID_FIELD, service, f"Invalid Mandatory Field {name}")
        authorization = h.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip()
        with lock:
            expiry = tokens.get(token)
        if not authorization.startswith("Bearer ") or expiry is None or expiry <= bank.clock():
            raise SnapError(codes.INVALID_TOKEN, service, "Invalid Token (B2B)")
        if h["X-PARTNER-ID"] != partner.client_id or h["CHANNEL-ID"] != partner.channel_id:
            raise SnapError(codes.UNAUTHORIZED, service, "Unauthorized. Unknown partner")
        timestamp_ok(h["X-TIMESTAMP"], service)
        if not verify_service(
            partner.client_secret,
            request.method,
            request.url.path,
            token,
            raw,
            h["X-TIMESTAMP"],
            h["X-SIGNATURE"],
        ):
            raise SnapError(codes.UNAUTHORIZED, service, "Unauthorized. Signature")
        day = bank.clock().astimezone(WIB).date().isoformat()
        key = (day, h["X-EXTERNAL-ID"])
        with lock:
            if key in seen_external_ids:
                raise SnapError(codes.CONFLICT, service, "Conflict. X-EXTERNAL-ID already used")
            seen_external_ids.add(key)
        try:
            body = json.loads(raw)
        except ValueError:
            raise SnapError(codes.BAD_REQUEST, service, "Bad Request. Body is not JSON") from None
        if not isinstance(body, dict):
            raise SnapError(codes.BAD_REQUEST, service, "Bad Request. Body is not an object")
        return body

    def field(body: dict[str, Any], path: str, service: str) -> str:
        value: Any = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            raise SnapError(codes.INVALID_FIELD, service, f"Invalid Mandatory Field {path}")
        return value

    def render(answer: Answer, service: str, extra: dict[str, Any]) -> Response:
        state = STATUS_CODES.get(answer.status_code)
        payload: dict[str, Any]
        if state is None:
            payload = {"responseCode": f"299{service}99", "responseMessage": "Unknown"}
            status = 200
        elif answer.reason_code:
            meaning = codes.REFUSALS.get(answer.reason_code, codes.DO_NOT_HONOR)
            payload = {
                "responseCode": codes.response_code(meaning, service),
                "responseMessage": answer.reason or "Do Not Honor",
            }
            status = meaning[0]
        else:
            meaning = codes.IN_PROGRESS if answer.status_code == "ACSP" else codes.SUCCESS
            payload = {"responseCode": codes.response_code(meaning, service)}
            payload["responseMessage"] = "Successful"
            status = meaning[0]
        payload |= {
            "referenceNo": answer.bank_reference or "",
            "partnerReferenceNo": answer.reference,
            **({"amount": _money(answer.amount)} if answer.amount is not None else {}),
            **(
                {"transactionDate": answer.settled_at.astimezone(WIB).isoformat()}
                if answer.settled_at is not None
                else {}
            ),
            **extra,
        }
        return garble(payload, status, answer)

    def garble(payload: dict[str, Any], status: int, answer: Answer) -> Response:
        body = json.dumps(payload).encode()
        if answer.garbled:
            body = body[: len(body) // 2]
        return Response(content=body, status_code=status, media_type="application/json")

    async def deliver(
        delivery: Delivery, service: str, make: Callable[[Answer], Response]
    ) -> Response:
        await wait(delivery.latency)
        if delivery.answer is None:
            raise SnapError(codes.TIMEOUT, service, "Timeout")
        return make(delivery.answer)

    @app.post(f"{PREFIX}/access-token/b2b")
    async def access_token(request: Request) -> Response:
        service = codes.SERVICE_TOKEN
        h = request.headers
        client_key = h.get("X-CLIENT-KEY", "")
        timestamp = h.get("X-TIMESTAMP", "")
        timestamp_ok(timestamp, service)
        if client_key != partner.client_id or not verify_token_request(
            partner.public_key, client_key, timestamp, h.get("X-SIGNATURE", "")
        ):
            raise SnapError(codes.UNAUTHORIZED, service, "Unauthorized. Signature")
        body = json.loads(await request.body() or b"{}")
        if body.get("grantType") != "client_credentials":
            raise SnapError(codes.INVALID_FIELD, service, "Invalid Field Format grantType")
        token = secrets.token_urlsafe(32)
        with lock:
            tokens[token] = bank.clock() + timedelta(seconds=token_ttl_s)
        return JSONResponse(
            {
                "responseCode": codes.response_code(codes.SUCCESS, service),
                "responseMessage": "Successful",
                "accessToken": token,
                "tokenType": "Bearer",
                "expiresIn": str(token_ttl_s),
            }
        )

    async def transfer(request: Request, service: str, interbank: bool) -> Response:
        body = await authenticate(request, service)
        reference = field(body, "partnerReferenceNo", service)
        if field(body, "amount.currency", service) != CURRENCY:
            raise SnapError(codes.INVALID_FIELD, service, "Invalid Field Format currency")
        if field(body, "sourceAccountNo", service) != bank.settlement_account:
            raise SnapError(codes.INVALID_ACCOUNT, service, "Invalid Account sourceAccountNo")
        bank_code = field(body, "beneficiaryBankCode", service) if interbank else bank.bank_code
        try:
            value = field(body, "amount.value", service)
            whole, _, cents = value.partition(".")
            if cents.strip("0"):
                raise ValueError(value)
            order = TransferRequest(
                reference=reference,
                amount=int(whole),
                creditor=AccountRef(
                    bank_code,
                    field(body, "beneficiaryAccountNo", service),
                    str(body.get("beneficiaryAccountName", "")),
                ),
                kind=TransferKind(
                    body.get("additionalInfo", {}).get("kind", TransferKind.ACCOUNT_CREDIT)
                ),
                remittance=str(body.get("remark", ""))[:140],
            )
        except (BankAdapterError, ValueError) as exc:
            raise SnapError(codes.INVALID_FIELD, service, f"Invalid Field Format {exc}") from None
        # SNAP answers a reused partnerReferenceNo with an error, not with the first result.
        if bank.lookup(reference) is not None:
            raise duplicate(service)
        try:
            delivery = desk.submit(order)
        except ReferenceConflict:
            raise duplicate(service) from None
        extra = {"beneficiaryAccountNo": order.creditor.number}
        return await deliver(delivery, service, lambda a: render(a, service, extra))

    @app.post(f"{PREFIX}/transfer-intrabank")
    async def intrabank(request: Request) -> Response:
        return await transfer(request, codes.SERVICE_INTRABANK, interbank=False)

    @app.post(f"{PREFIX}/transfer-interbank")
    async def interbank(request: Request) -> Response:
        return await transfer(request, codes.SERVICE_INTERBANK, interbank=True)

    @app.post(f"{PREFIX}/transfer/status")
    async def status(request: Request) -> Response:
        service = codes.SERVICE_STATUS
        body = await authenticate(request, service)
        reference = field(body, "originalPartnerReferenceNo", service)

        def make(answer: Answer) -> Response:
            state = STATUS_CODES.get(answer.status_code)
            transfer = bank.lookup(reference)
            payload: dict[str, Any] = {
                "responseCode": codes.response_code(codes.SUCCESS, service),
                "responseMessage": "Successful",
                "originalPartnerReferenceNo": answer.reference,
                "originalReferenceNo": answer.bank_reference or "",
                "serviceCode": body.get("serviceCode", codes.SERVICE_INTRABANK),
                "latestTransactionStatus": codes.STATUS_OF_STATE[state] if state else "ZZ",
                "transactionStatusDesc": answer.reason or (state.value if state else "unknown"),
            }
            if answer.amount is not None:
                payload["amount"] = _money(answer.amount)
            if answer.reason_code:
                payload["originalResponseCode"] = answer.reason_code
            if transfer is not None:
                payload["beneficiaryAccountNo"] = transfer.request.creditor.number
            if answer.settled_at is not None:
                payload["transactionDate"] = answer.settled_at.astimezone(WIB).isoformat()
            return garble(payload, 200, answer)

        return await deliver(desk.status(reference), service, make)

    @app.post(f"{PREFIX}/transfer/reversal")
    async def reversal(request: Request) -> Response:
        service = codes.SERVICE_REVERSAL
        body = await authenticate(request, service)
        original = field(body, "originalPartnerReferenceNo", service)
        reference = field(body, "partnerReferenceNo", service)
        try:
            delivery = desk.reverse(
                original, reversal_reference=reference, reason=str(body.get("reason", ""))
            )
        except TransferNotReversible as exc:
            raise SnapError(codes.CONFLICT, service, exc.message) from None
        except ReferenceConflict:
            raise duplicate(service) from None
        extra = {"originalPartnerReferenceNo": original}
        return await deliver(delivery, service, lambda a: render(a, service, extra))

    @app.post(f"{PREFIX}/bank-statement")
    async def bank_statement(request: Request) -> Response:
        """Service 14, answered with the camt.053 document's content in SNAP's JSON shape."""
        service = "14"
        body = await authenticate(request, service)
        if field(body, "accountNo", service) != bank.settlement_account:
            raise SnapError(codes.INVALID_ACCOUNT, service, "Invalid Account accountNo")
        try:
            day = datetime.fromisoformat(field(body, "fromDateTime", service)).astimezone(WIB)
        except ValueError:
            raise SnapError(
                codes.INVALID_FIELD, service, "Invalid Field Format fromDateTime"
            ) from None
        statement = bank.statement(day.date())
        payload = {
            "responseCode": codes.response_code(codes.SUCCESS, service),
            "responseMessage": "Successful",
            "referenceNo": statement.statement_id,
            "balance": [
                {
                    "startingBalance": _money(statement.opening_balance),
                    "endingBalance": _money(statement.closing_balance),
                }
            ],
            "totalCreditEntries": {
                "numberOfEntries": str(sum(1 for e in statement.entries if e.direction == "CRDT")),
            },
            "totalDebitEntries": {
                "numberOfEntries": str(sum(1 for e in statement.entries if e.direction == "DBIT")),
            },
            "detailData": [
                {
                    "amount": _money(e.amount),
                    "transactionDate": e.booked_at.astimezone(WIB).isoformat(),
                    "type": "CREDIT" if e.direction == "CRDT" else "DEBIT",
                    "remark": e.counterparty,
                    "detailInfo": {
                        "partnerReferenceNo": e.reference,
                        "referenceNo": e.bank_reference,
                        **({"reversalOf": e.reversal_of} if e.reversal_of else {}),
                    },
                }
                for e in statement.entries
            ],
        }
        return JSONResponse(payload)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "bank": bank.bank_code}

    return app
