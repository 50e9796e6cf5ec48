"""Who a verified request came from: a terminal (an agent's point of service) or an operator.

The routes of every domain take these, never the raw signature: the checks that produce them
are in `gateway.terminals.signatures` and `gateway.terminals.authenticate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.terminals.models import OperatorRole

PrincipalKind = Literal["terminal", "operator"]


@dataclass(frozen=True)
class AuthenticatedTerminal:
    """The terminal a request provably came from, and the request's signed nonce."""

    id: str
    agent_name: str
    bank_code: str
    province_code: str
    regency_code: str
    nonce: str
    created: datetime

    @property
    def region(self) -> str:
        """Province + regency (4 digits), the scope of cardless 1:N searches."""
        return self.province_code + self.regency_code


@dataclass(frozen=True)
class AuthenticatedOperator:
    id: str
    name: str
    role: OperatorRole
    nonce: str
    created: datetime


Principal = AuthenticatedTerminal | AuthenticatedOperator
