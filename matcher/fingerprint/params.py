"""Every tunable of the extraction pipeline in one frozen dataclass, each with its reason.

All lengths are in pixels at the nominal 500 dpi (images are rescaled before any stage runs),
so one set of defaults holds for every sensor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractionParams:
    """Parameters of `matcher.fingerprint.extract.extract`; the defaults suit 500 dpi sensors."""

    # Blocks of 8 px (under one ridge period) keep the orientation and mask grids fine enough
    # to follow curved ridges near cores while costing only ~2,000 cells per FVC image.
    block: int = 8
    # Gradient tensor window (σ, px): about two ridge periods, enough to average out pores
    # and sweat gaps without smearing the flow around cores.
    gradient_sigma: float = 1.0
    tensor_sigma: float = 7.0
    # Extra smoothing of the doubled-angle field on the block grid (σ in blocks): removes the
    # remaining noise from scars and creases, the main source of false orientations.
    orientation_smooth_blocks: float = 1.5
    # Foreground: a block is finger when its grey-level spread exceeds Otsu's threshold,
    # clamped to this band of the image's strong (95th percentile) contrast, ...
    mask_contrast_band: tuple[float, float] = (0.2, 0.45)
    # ... or half of it with ridge flow at least this coherent (noise has no flow).
    mask_min_coherence: float = 0.6
    # Holes and bays smaller than this many blocks are closed; the mask is then eroded so no
    # minutia is taken where ridges are cut by the contact border.
    mask_close_blocks: int = 2
    mask_erode_blocks: int = 0
    # Ridge period bounds at 500 dpi (literature: 5–15 px, typically 8–12).
    min_period: float = 5.0
    max_period: float = 15.0
    # Gabor envelope σ relative to the ridge period: 0.45 periods ≈ Hong et al.'s σ = 4 px at
    # a 9 px period; wider envelopes bridge more gaps but blur minutiae away.
    gabor_sigma_periods: float = 0.45
    # Orientation bins of the filter bank; responses of the two nearest bins are blended, so
    # 12 bins (15°) are as accurate as 24 nearest-bin ones at half the cost.
    gabor_orientations: int = 12
    # Filter banks at these multiples of the finger's ridge period; with several levels each
    # pixel blends the two around its local period. Measured on FVC2002 DB1–4 B (all-pairs
    # EER with the MCC comparator): one bank at 0.77–0.87 × the period scores 2.5–2.9%,
    # against 4.4% at 1.0 and 3.5–4.1% with local levels: a slightly finer, more compact
    # kernel keeps minutiae sharp, and a single bank costs a third of three.
    gabor_period_levels: tuple[float, ...] = (0.85,)
    # A window's own period is trusted within this factor of the finger's (beyond, it is
    # noise) and the local period map is smoothed over this many px (about two windows).
    local_period_range: float = 1.3
    local_period_smooth: float = 24.0
    # Minutiae closer than this to the foreground border are dropped, and endings whose ridge
    # line, continued beyond the tip, leaves the foreground within `border_ray` (ridges there
    # are cut by the contact edge and end artificially; real endings face more ridges).
    border_distance: float = 6.0
    border_ray: float = 20.0
    # Steps traced along the skeleton from each minutia, to judge short ridges and to read
    # directions.
    trace_steps: int = 24
    # Ridge length (px) along which a minutia's direction is read.
    direction_steps: int = 10
    # False-minutia rules (px along the skeleton or straight-line distances).
    spur_length: int = 12
    short_ridge_length: int = 18
    bridge_length: int = 12
    broken_gap: float = 16.0
    cluster_radius: float = 8.0
    # Minutiae whose per-minutia quality falls below this are dropped (0 keeps all).
    min_minutia_quality: int = 0
    # At most this many minutiae are kept, the best first (ISO cards store up to ~60).
    max_minutiae: int = 100


DEFAULT = ExtractionParams()
