"""Authentication and authorisation errors of terminals, devices and operators."""

from __future__ import annotations

from gateway.errors import Conflict, Forbidden, NotFound, Unauthorized


class SignatureMissing(Unauthorized):
    code = "signature_missing"


class SignatureInvalid(Unauthorized):
    code = "signature_invalid"


class UnknownTerminal(Unauthorized):
    code = "unknown_terminal"


class UnknownOperator(Unauthorized):
    code = "unknown_operator"


class StaleRequest(Unauthorized):
    code = "stale_request"


class ReplayedRequest(Unauthorized):
    code = "replayed_request"


class DigestMismatch(Unauthorized):
    code = "digest_mismatch"


class TerminalInactive(Forbidden):
    code = "terminal_inactive"


class OperatorInactive(Forbidden):
    code = "operator_inactive"


class OperatorForbidden(Forbidden):
    code = "operator_forbidden"


class PrincipalNotFound(NotFound):
    code = "principal_not_found"


class PrincipalExists(Conflict):
    code = "principal_exists"


class StatusChangeRefused(Conflict):
    """A revoked key is burnt: reactivating it would trust a key that may be in other hands."""

    code = "status_change_refused"
