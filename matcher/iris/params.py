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
    # Pupil/iris radius ratio: 0.15 (bright light) .. 0.75 (dark, dilated) covers humans.
    ratio_min: float = 0.15
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
    # Specular reflections: small bright spots, found by a white top-hat above this level.
    reflection_tophat: int = 45
    reflection_min_level: int = 200
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
    # Comparison: circular shifts of ±max_shift angular positions (±22.5°) for head tilt.
    max_shift: int = 8
    # Daugman's normalisation reference: the typical number of bits compared.
    norm_bits: int = 911
    # Below this many bits valid in both codes the comparison is not trusted (score 0.5).
    min_compared_bits: int = 200
    # Quality gate: usable (unmasked) share of the 2,048 bits below which the eye counts as
    # mostly closed or occluded, and the iris radius (working pixels) below which it is too small.
    min_usable_fraction: float = 0.4
    min_iris_radius: float = 40.0
