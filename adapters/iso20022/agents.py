"""Financial institution identification, shared by every message that names a bank.

Each message's bindings module has its own copy of the same ISO 20022 types, so the helper takes
the module and builds from it.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from adapters.base import InvalidTransferRequest

BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
# Bank Indonesia's national clearing: a bank configured by its national code rather than a BIC
# is named by its member id there.
CLEARING_SYSTEM = "BI-FAST"


def agent(bindings: ModuleType, bank_code: str) -> Any:
    """A BIC where the code is one, else the national clearing member id."""
    if BIC.fullmatch(bank_code):
        institution = bindings.FinancialInstitutionIdentification18(bicfi=bank_code)
    elif 0 < len(bank_code) <= 35:
        institution = bindings.FinancialInstitutionIdentification18(
            clr_sys_mmb_id=bindings.ClearingSystemMemberIdentification2(
                clr_sys_id=bindings.ClearingSystemIdentification2Choice(prtry=CLEARING_SYSTEM),
                mmb_id=bank_code,
            )
        )
    else:
        raise InvalidTransferRequest(f"bank code {bank_code!r} is neither a BIC nor a member id")
    return bindings.BranchAndFinancialInstitutionIdentification6(fin_instn_id=institution)


def bank_code_of(institution: Any) -> str:
    """The BIC or clearing member id an agent element names ("" when it names neither)."""
    identification = institution.fin_instn_id
    member = identification.clr_sys_mmb_id
    return str(identification.bicfi or (member.mmb_id if member else ""))
