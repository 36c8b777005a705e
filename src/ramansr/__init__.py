"""ramansr: deep super-resolution of Raman hyperspectral images.

Data contracts shared by all stages: arrays are float32; a spectral image is
(rows, cols, channels); component maps are (k, rows, cols); positions are
(X, Y) = (column, row) of the HR window's top-left corner in the LR map
upscaled by the run's SR factor (``results/geometry.json``, see
:mod:`ramansr.geometry`), as floats; every JSON file carries the settings that produced it.
"""

__version__ = "0.1.0"
