"""Imports every domain's models so `Base.metadata` is complete for Alembic and tests."""

from gateway.audit import models as audit_models
from gateway.biometrics import models as biometrics_models
from gateway.console import models as console_models
from gateway.db import Base
from gateway.enrollment import models as enrollment_models
from gateway.indexing import models as indexing_models
from gateway.payouts import models as payouts_models
from gateway.registry import models as registry_models
from gateway.terminals import models as terminals_models
from gateway.trust import models as trust_models
from gateway.verification import models as verification_models

__all__ = [
    "Base",
    "audit_models",
    "biometrics_models",
    "console_models",
    "enrollment_models",
    "indexing_models",
    "payouts_models",
    "registry_models",
    "terminals_models",
    "trust_models",
    "verification_models",
]
