"""Prediction: super-resolve an LR scan with a trained model, and check the result.

One way through, module by module:

- :mod:`~ramansr.prediction.scan`: scan -> component maps (:func:`~ramansr.prediction.scan.scan_maps`:
  the training data's spectral chain, NMF, per-map normalisation) -> super-resolved maps
  (:func:`~ramansr.prediction.scan.super_resolve_maps`) -> the rebuilt HR cube
  (:func:`~ramansr.prediction.scan.reconstruct_cube`); :func:`~ramansr.prediction.scan.predict_scan`
  runs the steps.
- :mod:`~ramansr.prediction.files`: the prediction's record and files
  (:func:`~ramansr.prediction.files.write_prediction`: maps.npz, maps.png, cube.mat).
- :mod:`~ramansr.prediction.consistency`: the check that needs no HR scan (the SR maps imaged again
  by the LR objective, against the LR maps).
- :mod:`~ramansr.prediction.trust`: the calibrated per-pixel uncertainty of a prediction and each
  map's predicted RMSE (:mod:`ramansr.uncertainty`), through the consistency's imaging.
- :mod:`~ramansr.prediction.check`: a test area's prediction against its measured HR scan.
- :mod:`~ramansr.prediction.report`: the prediction tables and figures.
- :mod:`~ramansr.prediction.cli`: the ``ramansr-predict`` command.

This module imports nothing: the workflow reads :data:`TEST_AREA_PREDICTION` at parse time.
"""

#: The name of a test area's prediction (``results/predictions/{name}/``), a pattern of its
#: sample and area; :func:`area_prediction_name` fills it in (no ``test_`` prefix: pytest would collect it).
TEST_AREA_PREDICTION = "test_area_{sample}_{area}"


def area_prediction_name(sample, area):
    """The prediction name of the test area ``sample``/``area``."""
    return TEST_AREA_PREDICTION.format(sample=sample, area=area)
