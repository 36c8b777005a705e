"""A calibrated per-pixel uncertainty for super-resolved maps, with no HR scan.

Two parts, each seeing errors that re-imaging the SR map at the LR scan's own
points cannot (that check only sees what the LR scan sees):

- an equivariant bootstrap (Tachella & Pereyra, "Equivariant Bootstrapping
  for Uncertainty Quantification in Imaging Inverse Problems", AISTATS 2024):
  the SR estimate ``x = f(y)`` is transformed by a random element ``g`` of a
  group the imaging treats alike everywhere (a quarter turn, a mirror, and a
  shift by a whole number of SR pixels, a sub-pixel shift of the LR sampling
  grid), imaged again with the run's own LR imaging model
  (:func:`ramansr.optics.reimage_lowres`), optionally with noise at the
  level measured on the LR map, super-resolved, and transformed back:
  ``x_b = T_g^-1 f(A T_g x + n_b)``. The draws' root mean square distance to
  ``x`` (:func:`~ramansr.uncertainty.bootstrap.spread`) is the model's error on a specimen like ``x``, bias
  included: each draw samples the estimate at LR points the scan never
  measured, so detail the model invents, shifts or blurs between the scan's
  points shows up, also where the map is flat (a biased region).
- the SR map's gradient magnitude (:func:`~ramansr.uncertainty.bootstrap.gradient_magnitude`): where the map
  has edges, the specimen has detail finer than the LR step that no model
  recovers whole; the bootstrap misses it, because ``x`` lacks that detail
  itself (alone, it sees about a third of the true RMS error on the default run).

:func:`~ramansr.uncertainty.calibration.calibrate` weighs the two on the calibration pairs (the
training and validation areas; :func:`~ramansr.uncertainty.stages.calibrate_model_file` says why the
training areas too): the measured HR map's white-noise variance (read off their HR maps) is one term
of every pixel's, and the rest of the squared error against the measured HR map is fitted by a
non-negative combination of the parts' squares (scipy's ``nnls``), scaled so that the mean is the
squared errors' mean, giving ``u``, the per-pixel RMS error; then split-conformal prediction:
``score = |HR - SR| / u`` per pixel, ``q`` the ``ceil((n + 1) level)``-th smallest score, and
``SR +- q u`` covers the measured HR map's pixels with probability ``level`` where the calibration
areas are representative. ``benchmarks/bench_uncertainty.py`` measures the choices,
``benchmarks/bench_uncertainty_folds.py`` the noise term and the calibration areas per
cross-validation fold.

deepinv implements the same bootstrap, but for its own operator and model
classes; the run's imaging model is a numpy function and its models are called
through :func:`ramansr.inference.super_resolve`, so the few lines here need no
extra dependency.

Modules
-------
:mod:`~ramansr.uncertainty.bootstrap`
    The raw parts: the equivariant bootstrap's draws and spread, the gradient magnitude, and both
    on the HR windows of pairs.
:mod:`~ramansr.uncertainty.calibration`
    Weighing and scaling the parts on measured HR maps (split-conformal), the calibrated
    uncertainty of a prediction, and the scores of maps against their reference.
:mod:`~ramansr.uncertainty.stages`
    The workflow's ``uncertainty`` and ``uncertainty_table`` stages: a model's calibration and
    test scores, and the tables of every model's, as CSV and Markdown.

This module imports nothing.
"""
