"""Financial institution identification, shared by every message that names a bank.

Each message's bindings module has its own copy of the same ISO 20022 types, so the helper takes
the module and builds from it.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from adapters.base import InvalidTransferRequest
from adapters.iso20022.xml import refusal

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


def bank_code_of(institution: Any, *, field: str) -> str:
    """The BIC, or the member id of the Indonesian clearing, that an agent element names.

    A member id means something only within its clearing system: a US routing number (USABA)
    or a German Bankleitzahl is not an Indonesian bank code, so a member id is read only when
    `ClrSysId` names BI-FAST. `field` is the agent's path, for the refusal.
    """
    identification = institution.fin_instn_id
    bic = getattr(identification, "bicfi", None) or getattr(identification, "bic", None)
    if bic:
        return str(bic)
    member = identification.clr_sys_mmb_id
    if member is None:
        raise refusal(f"{field}/FinInstnId", "names neither a BIC nor a clearing member id")
    system = member.clr_sys_id
    name = (system.prtry or system.cd) if system is not None else None
    if name != CLEARING_SYSTEM:
        raise refusal(
            f"{field}/FinInstnId/ClrSysMmbId/ClrSysId",
            f"member id {member.mmb_id} belongs to clearing system {name or '(none named)'}, "
            f"not {CLEARING_SYSTEM}: it is not an Indonesian bank code",
        )
    return str(member.mmb_id)
