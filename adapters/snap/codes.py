"""SNAP response codes: HTTP status (3 digits) + service code (2) + case code (2).

Service codes used here: 73 access token B2B, 17 intrabank transfer, 18 interbank transfer,
36 transfer status inquiry. Reversal has no SNAP service; this adapter uses 90 for it, a
bilateral extension that follows the same signing and response conventions.
"""

from __future__ import annotations

from adapters.base import TransferState

SERVICE_TOKEN = "73"
SERVICE_INTRABANK = "17"
SERVICE_INTERBANK = "18"
SERVICE_STATUS = "36"
SERVICE_REVERSAL = "90"

# (HTTP status, case) by meaning, per the SNAP response code table.
SUCCESS = (200, "00")
IN_PROGRESS = (202, "00")
BAD_REQUEST = (400, "00")
INVALID_FIELD = (400, "01")
UNAUTHORIZED = (401, "00")
INVALID_TOKEN = (401, "01")
DO_NOT_HONOR = (403, "05")
INSUFFICIENT_FUNDS = (403, "14")
INACTIVE_ACCOUNT = (403, "18")
TRANSACTION_NOT_FOUND = (404, "01")
INVALID_ACCOUNT = (404, "11")
CONFLICT = (409, "00")
DUPLICATE_PARTNER_REFERENCE = (409, "01")
GENERAL_ERROR = (500, "00")
TIMEOUT = (504, "00")

# ISO 20022 reason codes from the bank's core, as SNAP refusals.
REFUSALS = {
    "AC01": INVALID_ACCOUNT,
    "AC04": INACTIVE_ACCOUNT,
    "AM04": INSUFFICIENT_FUNDS,
    "MS03": DO_NOT_HONOR,
}

# latestTransactionStatus values of the status inquiry (service 36).
LATEST_STATUS: dict[str, TransferState] = {
    "00": TransferState.SETTLED,
    "01": TransferState.PENDING,  # initiated
    "02": TransferState.PENDING,  # paying
    "03": TransferState.PENDING,  # pending
    "04": TransferState.REVERSED,  # refunded
    "05": TransferState.REJECTED,  # cancelled
    "06": TransferState.REJECTED,  # failed
    "07": TransferState.NOT_FOUND,
}
STATUS_OF_STATE = {
    TransferState.SETTLED: "00",
    TransferState.PENDING: "03",
    TransferState.REVERSED: "04",
    TransferState.REJECTED: "06",
    TransferState.NOT_FOUND: "07",
}


def response_code(meaning: tuple[int, str], service: str) -> str:
    http_status, case = meaning
    return f"{http_status}{service}{case}"


def split(code: str) -> tuple[int, str, str] | None:
    """(HTTP status, service, case) of a 7-digit response code, or None if it is not one."""
    if len(code) != 7 or not code.isdigit():
        return None
    return int(code[:3]), code[3:5], code[5:]
