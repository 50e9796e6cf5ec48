"""A bank server speaking ISO 20022 over HTTP, backed by a `SimulatedBank`.

Routes (XML bodies, `application/xml`):
- `POST /iso20022/pacs.008`  credit transfer      -> pacs.002 status report
- `POST /iso20022/pacs.028`  status request       -> pacs.002
- `POST /iso20022/pacs.004`  return of a transfer -> pacs.002 about the return
- `GET  /iso20022/camt.053?date=YYYY-MM-DD`       -> camt.053 statement
- `GET  /healthz`

Faults come from the bank's `FrontDesk`: a request that "times out" or whose answer is "lost"
gets a 504 with no body (the bank may or may not have booked it: only a status request can tell),
a garbled answer is cut in half. A reused reference with other terms is 409, an irreversible
transfer 422, an unreadable request 400 (nothing was processed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from adapters.bank import SimulatedBank
from adapters.base import (
    BankResponseInvalid,
    InvalidTransferRequest,
    ReferenceConflict,
    TransferNotReversible,
)
from adapters.faults import FaultInjector
from adapters.frontdesk import Delivery, FrontDesk
from adapters.iso20022.bah import reply_in_kind
from adapters.iso20022.pacs002 import PACS004, PACS008, PACS028, build_pacs002
from adapters.iso20022.pacs004 import read_pacs004
from adapters.iso20022.pacs008 import read_pacs008
from adapters.iso20022.pacs028 import read_pacs028

XML = "application/xml"


def create_bank_app(
    bank: SimulatedBank,
    *,
    faults: FaultInjector | None = None,
    sleep: Callable[[float], None] | None = None,
) -> FastAPI:
    """The app; `sleep` (a manual clock's) replaces real waiting for latency in tests."""
    desk = FrontDesk(bank, faults)
    app = FastAPI(title=f"Simulated bank {bank.bank_code} (ISO 20022)")
    app.state.desk = desk

    async def wait(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
        elif seconds > 0:
            await asyncio.sleep(seconds)

    async def report(
        delivery: Delivery, original_id: str, original_message: str, request: bytes
    ) -> Response:
        await wait(delivery.latency)
        if delivery.answer is None:
            return Response(status_code=504)
        document = build_pacs002(
            delivery.answer,
            message_id=f"{bank.bank_code[:4]}-{uuid.uuid4().hex[:24]}",
            original_message_id=original_id,
            original_message=original_message,
            created=bank.clock(),
        )
        body = reply_in_kind(request, document, sender=bank.bank_code, created=bank.clock())
        if delivery.answer.garbled:
            body = body[: len(body) // 2]
        return Response(content=body, media_type=XML)

    @app.exception_handler(BankResponseInvalid)
    async def unreadable(_: Request, exc: BankResponseInvalid) -> Response:
        return JSONResponse({"code": "message_invalid", "message": exc.message}, 400)

    @app.exception_handler(InvalidTransferRequest)
    async def invalid(_: Request, exc: InvalidTransferRequest) -> Response:
        return JSONResponse({"code": exc.code, "message": exc.message}, 400)

    @app.exception_handler(ReferenceConflict)
    async def conflict(_: Request, exc: ReferenceConflict) -> Response:
        return JSONResponse({"code": exc.code, "message": exc.message}, 409)

    @app.exception_handler(TransferNotReversible)
    async def irreversible(_: Request, exc: TransferNotReversible) -> Response:
        return JSONResponse({"code": exc.code, "message": exc.message}, 422)

    @app.post("/iso20022/pacs.008")
    async def credit_transfer(request: Request) -> Response:
        body = await request.body()
        transfer = read_pacs008(body)
        if transfer.debtor.number != bank.settlement_account:
            raise InvalidTransferRequest(
                f"debtor account {transfer.debtor.number} is not held here",
                reference=transfer.request.reference,
            )
        return await report(desk.submit(transfer.request), transfer.message_id, PACS008, body)

    @app.post("/iso20022/pacs.028")
    async def status_request(request: Request) -> Response:
        body = await request.body()
        message_id, reference = read_pacs028(body)
        return await report(desk.status(reference), message_id, PACS028, body)

    @app.post("/iso20022/pacs.004")
    async def payment_return(request: Request) -> Response:
        body = await request.body()
        instruction = read_pacs004(body)
        original = bank.lookup(instruction.original_reference)
        if original is not None and original.request.amount != instruction.amount:
            raise TransferNotReversible(
                f"return of Rp {instruction.amount} does not match the original "
                f"Rp {original.request.amount}",
                reference=instruction.original_reference,
            )
        delivery = desk.reverse(
            instruction.original_reference,
            reversal_reference=instruction.return_reference,
            reason=instruction.reason,
        )
        return await report(delivery, instruction.message_id, PACS004, body)

    @app.get("/iso20022/camt.053")
    async def statement(day: date = Query(alias="date")) -> Response:
        _, latency, document = desk.statement(day)
        await wait(latency)
        if document is None:
            return Response(status_code=504)
        return Response(content=document, media_type=XML)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "bank": bank.bank_code}

    return app
