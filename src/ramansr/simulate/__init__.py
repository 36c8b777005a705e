"""Simulated paired low-/high-resolution Raman scans with known truth.

The embedded default dataset of the pipeline. Each sample is an aqueous
surfactant-polymer mixture (cationic surfactant + polystyrene sulfonate in
water) that has phase-separated into 2-3 chemical phases; each area is one
place on that specimen, imaged twice the way a WITec confocal Raman microscope
would: a 20x/0.5 NA low-resolution (LR) scan of the whole field and a
50x/0.8 NA high-resolution (HR) scan of a window inside it.

Physics, in the order it is applied
-----------------------------------
1. Specimen: on a fine grid (``fine_step_um``) two or more Gaussian random
   fields of correlation length ``xi`` are thresholded at the quantiles that
   give each phase its area fraction; interfaces get the tanh profile of a
   Cahn-Hilliard interface, 1.5 um wide by default: the confocal volume is
   2-4 um deep, so an inclined interface in the focal slab appears laterally
   diffuse. ``xi`` and the phase contrast grow linearly with
   the polymer fraction (more polymer: deeper quench, coarser domains, phases
   further apart in composition). Optionally (``heterogeneity``) structure
   larger than the HR window is superposed: inclusions (cells, regions) tens
   of um across and a smooth gradient across the field, each pulling the
   abundance towards one phase, so that an HR window's abundance range
   differs from its LR field's, as on real tissue.
2. Spectra: each phase is a mixture of three pure components (surfactant,
   water, polymer) whose spectra are sums of Voigt bands (Lorentzian line
   shape convolved with the spectrometer's Gaussian slit function).
3. Optics: the abundance maps are blurred with the objective's incoherent
   Airy PSF (488 nm, NA) -- applied as its exact optical transfer function --
   and then point-sampled on the scan grid, so a 2 um step over sub-um
   structure aliases exactly as in a real scan.
4. Detection: per-scan intensity scale (collection solid angle of the
   objective), slow laser-power drift along the acquisition order, Poisson
   shot noise plus Gaussian read noise, the CCD's offset (a bias of hundreds
   of counts plus a dark level per scan, on by default), a fluorescence
   background (on by default: each phase's yield times a broad band) and
   optional cosmic-ray spikes. ``offset: enabled: false`` and
   ``baseline: enabled: false`` give the ideal detector of earlier versions.

Signal-to-noise ratio
---------------------
``snr`` is defined on the LR scan as ``S / sqrt(S + read_noise**2)`` where
``S`` is the mean over the scan of the noise-free signal (photoelectrons) in
the CH-peak channel (the maximum of the mean spectrum within
:data:`ramansr.bands.CH_BAND`) and the denominator is the standard deviation of the noise at
that signal level (shot noise plus read noise). The HR scan collects
``(1 - cos asin NA_hr) / (1 - cos asin NA_lr)`` times more light per unit
abundance; its resulting SNR is recorded in the truth.

Coordinates
-----------
The LR field's top-left scan point is the origin; x runs along scan lines
(columns), y across them (rows); LR point (i, j) lies at (x, y) =
(j * step, i * step). The HR scan is rotated by ``rotation_deg`` about its
centre; ``offset_um`` is the top-left corner of the axis-aligned window with
the same centre, and ``position`` = ``offset_um / (lr_step / factor)`` is
that corner in pixels of the LR map upscaled by the SR factor
(:func:`sr_factor`: ``round(lr_step / hr_step)``), where upscaled pixel ``j``
is LR point ``j / factor`` (the frame in which ``cv2.matchTemplate`` of the HR
map finds the window). Scans have ``points`` points per line (columns) and
``lines`` lines (rows; by default as many as points).

Modules
-------
``settings``
    Defaults, completion of partial settings, per-area seeds, scan extents.
``spectra``
    Spectrometer axis, pure-component bands, phase spectra, fluorescence.
``specimen``
    Phase morphology and abundance maps on the fine grid (step 1).
``acquisition``
    Window placement, optics and detection (steps 3-4).
``area``
    One area from start to finish, in memory and as files.
``overview``
    The overview figure of one area.

The truth file's format and the noise-free cube it implies live in
:mod:`ramansr.truth`, which the scoring stages import without the simulator.
"""

from ramansr.simulate.area import ACQUISITION_DATE, simulate_area, write_area
from ramansr.simulate.overview import plot_overview
from ramansr.simulate.settings import area_seed_sequence, default_settings, resolve_settings, sr_factor

__all__ = [
    "ACQUISITION_DATE",
    "area_seed_sequence",
    "default_settings",
    "plot_overview",
    "resolve_settings",
    "simulate_area",
    "sr_factor",
    "write_area",
]
