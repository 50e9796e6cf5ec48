"""DET curves and score histograms as PNG (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from matcher.evaluation.harness import DatabaseResult
from matcher.evaluation.metrics import error_curve

FLOOR = 1e-4  # rates of 0 are drawn at this value on the log axes


def det_curves(results: Sequence[DatabaseResult], path: Path, title: str) -> Path:
    """FNMR against FMR (log-log) per database and protocol: the DET plot of ISO/IEC 19795-1."""
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, r in enumerate(results):
        label = f"{r.modality} {r.name}"
        for impostor, style, tag in (
            (r.impostor_all, "-", "all pairs"),
            (r.impostor_fvc, ":", "FVC"),
        ):
            curve = error_curve(_finite(r.genuine), _finite(impostor))
            ax.plot(
                np.maximum(curve.fmr, FLOOR),
                np.maximum(curve.fnmr, FLOOR),
                style,
                color=colours[n % len(colours)],
                label=f"{label} ({tag}, EER {_eer(r, tag):.2%})",
            )
    ax.plot([FLOOR, 1], [FLOOR, 1], color="grey", lw=0.5)
    ax.set(xscale="log", yscale="log", xlabel="FMR", ylabel="FNMR", title=title)
    ax.set_xlim(FLOOR, 1)
    ax.set_ylim(FLOOR, 1)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def histograms(results: Sequence[DatabaseResult], path: Path, title: str) -> Path:
    """Genuine and (all-pairs) impostor score distributions, one panel per database."""
    n = len(results)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax, r in zip(axes.ravel(), results, strict=False):
        g, i = _finite(r.genuine), _finite(r.impostor_all)
        both = np.concatenate([g, i])
        bins = np.linspace(both.min(), both.max(), 50) if len(both) else 10
        ax.hist(i, bins=bins, alpha=0.6, density=True, label=f"impostor ({len(i)})")
        ax.hist(g, bins=bins, alpha=0.6, density=True, label=f"genuine ({len(g)})")
        ax.set_yscale("log")
        ax.set_title(f"{r.modality} {r.name}", fontsize=8)
        ax.set_xlabel("score", fontsize=7)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finite(scores: np.ndarray) -> np.ndarray:
    """Failed comparisons (−∞) are drawn at the lowest real score."""
    real = scores[np.isfinite(scores)]
    low = real.min() if len(real) else 0.0
    return np.where(np.isfinite(scores), scores, low)


def _eer(r: DatabaseResult, tag: str) -> float:
    return r.allpairs.eer if tag == "all pairs" else r.fvc.eer
