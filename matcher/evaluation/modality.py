"""The contract a biometric modality meets to be measured by the accuracy harness.

Fingerprint and iris engines are developed separately but must be judged by the same code
(same protocols, same error-rate arithmetic, same plots), so the harness only ever talks to
this small protocol. An implementation must be picklable (a module-level class with plain
attributes), because the harness loads samples in worker processes.

To plug an engine into `satupintu-bench accuracy PATH --modality NAME`, ship a module
``matcher/NAME/modality.py`` with ``def create(resolution_dpi: int | None = None) -> Modality``
(see `matcher.evaluation.registry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class FailureToEnrol(ValueError):
    """A sample could not be turned into a usable template (counted in the FTE rate).

    `code` is machine-readable (for example ``"too_few_minutiae"``); the message says why in
    words an operator understands.
    """

    code: str = "failure_to_enrol"

    def __init__(self, message: str, *, code: str = "failure_to_enrol") -> None:
        super().__init__(message)
        self.code = code


@runtime_checkable
class Modality(Protocol):
    """One biometric modality as the harness sees it.

    - `name`: short label used in reports (``"fingerprint"``, ``"iris"``, ``"afis"``).
    - `suffixes`: file name endings (lower case, with the dot) the folder reader accepts.
    - `load(path)`: read one sample and return its comparison-ready template (anything
      picklable); raise `FailureToEnrol` when no usable template can be made. Other
      exceptions are treated as failures to enrol too, but with a generic code.
    - `compare(a, b)`: similarity of two templates, higher meaning more alike. The harness
      never assumes a range, only that the order is meaningful.
    """

    @property
    def name(self) -> str: ...

    @property
    def suffixes(self) -> tuple[str, ...]: ...

    def load(self, path: Path) -> Any: ...

    def compare(self, a: Any, b: Any) -> float: ...
