"""Tunable parameters of the iris pipeline, in one frozen dataclass with a reason for each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IrisParams:
    # Input limits: 320×240 is the smallest ISO/IEC 19794-6 "VGA-class" capture worth
    # encoding; above 2,000 px a side is a photo of a face, not an iris camera frame.
    min_side: int = 200
    max_side: int = 2000
    # Segmentation runs at a working width of ~320 px: enough resolution for 2,048 bits
    # (8 rings need an iris radius above ~40 px) and small enough for the 40 ms budget.
    work_width: int = 320
    # Pupil radius as a fraction of the working width: NIR iris cameras frame the eye so the
    # pupil spans 5–25 % of the image width across dilation.
    pupil_min_frac: float = 0.025
    pupil_max_frac: float = 0.25
    # Pupil detector: radii tried between the limits (geometric steps of ~22 %), the weight of
    # a candidate's own grey-level deviation against it (a pupil is uniform once glints are
    # inpainted; the iris disc holds pupil and texture), candidates refined at most, and the
    # weakest dark-to-bright edge (grey levels per pixel, smoothed) accepted as a pupil's
    # (hazy real pupils measured 2.8 and more; candidates on skin measured 1.1-2.2).
    pupil_scales: int = 12
    pupil_uniformity: float = 1.0
    pupil_candidates: int = 4
    pupil_min_edge: float = 2.5
    # ... and the least `pupil_contrast` (surround minus inside and its deviation, over the
    # surround): real pupils measured 0.4–0.95; noise and shading gradients stay below 0.2.
    pupil_min_contrast: float = 0.25
    # Candidates are ranked by edge and contrast over (grey level inside + this offset): the
    # offset keeps sensor noise in a black pupil (levels 0-5) from deciding between two of
    # them, while a gap between lashes (measured 20-45 inside) ranks below a pupil (0-30).
    pupil_dark_offset: float = 10.0
    # A candidate inside the winning circle whose inside is darker than this share of the
    # winner's is the pupil and the winner its iris (measured: a dark iris disc holding its
    # pupil averages 1.5-3x the pupil's grey level, 1.5x on dark MMU1 irises; pieces of one
    # pupil are equally dark).
    pupil_nested_dark: float = 0.75
    # ... and darker by at least this many grey levels: near black, sensor noise alone makes
    # one piece of a pupil half as bright as another.
    pupil_nested_margin: float = 10.0
    # Pupil/iris radius ratio: 0.15 (bright light) .. 0.75 (dark, dilated) covers humans.
    ratio_min: float = 0.2
    ratio_max: float = 0.75
    # Limbus centre may sit off the pupil centre by up to this fraction of the pupil radius
    # (the pupil is nasal and inferior of the iris centre by a few percent in most eyes).
    # Measured on CASIA-IrisV1: 0.3 lets lateral arcs of lids/sclera pull the circle (EER
    # 0.93%); 0.15 keeps it on the limbus (0.62%).
    limbus_offset_frac: float = 0.15
    # Vertical freedom of the limbus centre, as a share of the horizontal one: the lateral
    # arcs the limbus is fitted on constrain its height only weakly, so a free vertical
    # offset follows lids and lashes. Tighter than 1/2 helps CASIA-IrisV1 a little (1/4:
    # d' 5.83 vs 5.73) but misses real inferior pupils (5% of the iris radius, as the
    # synthetic eyes model), so 1/2 stays.
    limbus_vertical_share: float = 0.5
    # Radial smoothing (working px) of the coarse limbus search: the limbus is a long step
    # from iris to sclera, the collarette and crypts inside the iris are short ones, so a
    # wider derivative prefers the limbus (measured over the three iris sets: 3 px beats 2 and
    # 4; at 4 the lateral arcs no longer pin the centre's height on synthetic eyes).
    limbus_sigma: float = 3.0
    # Specular reflections: spots more than `reflection_tophat` grey levels above a disc
    # opening (disc ~4% of the width, wider than a glint, narrower than a pupil) and near the
    # image's saturation: at least `reflection_relative` of its brightest pixel and at least
    # `reflection_min_level`. Bright iris texture next to a black pupil passes the top-hat
    # (measured: p99 of 140–170 on bright-iris captures) but stays below ~210, while glints
    # sit at 248–255. Components wider than `reflection_max_frac` of the width are bright
    # skin between lashes, not glare, and are left alone.
    reflection_tophat: int = 45
    reflection_min_level: int = 150
    reflection_relative: float = 0.9
    reflection_kernel_frac: float = 0.08
    reflection_max_frac: float = 0.05
    # ... unless they are compact (round, filling their box): the illuminator's glint in a
    # close-up camera's pupil reaches ~7 % of the width, and a pupil with an uninpainted
    # glint in its middle is a ring that no disc detector finds.
    reflection_compact_frac: float = 0.09
    # Glare over more than this share of the frame is no eye image (bright skin speckle
    # between lashes reached 17 % on real captures; pure noise passes every spot test).
    reflection_max_share: float = 0.3
    # Eyelash / eyelid-skin noise thresholds in the normalised strip, in robust SDs (MAD).
    lash_sigmas: float = 2.6
    skin_sigmas: float = 3.5
    upper_lash_sigmas: float = 1.5
    # Skin or sclera entering from the limbus side: bright on a blurred sheet, in robust SDs.
    outer_skin_sigmas: float = 1.0
    # An upper lid hides the iris from the limbus inwards: in the upper half of the sheet, a
    # sample is occluded when more than this share of the samples from it out to the limbus
    # are lash-dark or already masked (lashes hang from the lid, so occlusion is monotonic).
    lash_occlusion_share: float = 0.5
    # Rubber sheet: 64 radial × 256 angular samples; 8-row bands give the 8 code rings.
    norm_radial: int = 64
    norm_angular: int = 256
    # Radial range used inside [0, 1] (pupil → limbus): the first and last few percent are
    # dominated by boundary blur and fitting error.
    r_inner: float = 0.04
    r_outer: float = 0.85
    # 1D log-Gabor along the angle: centre wavelength in angular samples (of 256) and
    # bandwidth ratio σ/f0 = 0.5 (about two octaves), the usual choice for iris texture.
    # Measured on CASIA-IrisV1 (with fragile bits masked): wavelength 12 → d' 5.33, 14 →
    # 5.49, 16 → 5.61, 18 → 5.29 without fragile masking; 14 keeps more independent bits
    # (impostor SD 0.018 vs 0.020 at 16) for a tail-dominated EER.
    wavelength: float = 14.0
    sigma_on_f: float = 0.5
    # A code sample is masked when more than this fraction of its band is noise.
    max_noise_fraction: float = 0.25
    # "Fragile bits" (Hollingsworth, Bowyer and Flynn): a bit whose part of the phasor is
    # near zero flips between captures of the same eye. The weakest share of each ring's
    # valid bits is masked: CASIA genuine mean HD 0.178 → 0.147, d' 5.23 → 5.49. They do
    # not count against the usable share (they are masked by design, not occluded).
    fragile_fraction: float = 0.2
    # Comparison: circular shifts of ±max_shift angular positions (±45°) for head tilt. MMU1
    # holds heads turned by ~50° between captures; ±16 measured FNMR at FMR 1e-4 3.00% on it
    # (±8: 3.33%) with the correlation correction below, CASIA-IrisV1 / IIT Delhi unchanged
    # within one pair (1.10% / 2.00%). The wider search raises the impostors' best scores,
    # which the calibration absorbs (the leave-one-set-out claims held within 2×).
    max_shift: int = 16
    # Daugman's normalisation reference: the typical number of bits compared.
    norm_bits: int = 911
    # Bit-correlation correction of the normalised distance (`matcher.iris.correlation`):
    # each code's Σρ̂² over lags within ±4 angular positions (about half the log-Gabor
    # wavelength of 7) and ±2 rings, relative to 5.5 (the median on CASIA-IrisV1 and on the
    # synthetic codes; MMU1 8.1, IIT Delhi 5.3). The
    # exponent is ½ for the variance at one alignment, but there it over-corrects the best
    # of the shifts: leave one set out (claimed FMR 1e-4, calibration fitted on the other two
    # sets), exponent 0 / 0.2 / 0.25 / 0.3 measured 7.1e-6 / 5.7e-5 / 6.4e-5 / 6.7e-5 on
    # CASIA-IrisV1, 9.4e-4 / 1.5e-4 / 4.0e-5 / 2.0e-5 on MMU1 and 8.2e-5 / 8.3e-5 / 8.2e-5 /
    # 8.6e-5 on IIT Delhi (±16 shifts); 0.2 is the one within 2× on all three.
    correlation_lag_angles: int = 4
    correlation_lag_rings: int = 2
    correlation_reference: float = 5.5
    correlation_exponent: float = 0.2
    # Below this many bits valid in both codes the comparison is not trusted (score 0.5).
    min_compared_bits: int = 200
    # Quality gate: usable (unmasked) share of the 2,048 bits below which the eye counts as
    # mostly closed or occluded, and the iris radius (working pixels) below which it is too small.
    min_usable_fraction: float = 0.3
    min_iris_radius: float = 40.0
