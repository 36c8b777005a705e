"""The paper's figures (2-5), the supplementary ones and the training curves.

Every figure is drawn with matplotlib's Agg backend in the one style of :mod:`ramansr.figure_style`
and written as PNG and PDF, atomically: each function
takes ``out_paths``, a sequence of paths whose suffixes (``.png``, ``.pdf``)
choose the formats. Maps get a colour bar and a scale bar in micrometres
(in pixels when the scan does not record its pixel size).

Inputs follow the file contracts of :mod:`ramansr.preprocess` (spectra),
:mod:`ramansr.decompose` (nmf.npz, pca.npz), :mod:`ramansr.register` and
:mod:`ramansr.selection` (per-area JSON), :mod:`ramansr.dataset` (pairs.npz,
split.csv) and :mod:`ramansr.train` (history.csv, best.pt). Fig. 1, the workflow, is in
:mod:`ramansr.rulegraph`.

Modules, one per figure family:

- :mod:`~ramansr.figures.spectra`: Fig. 2 (PCA against NMF) and Fig. S1 (spectral smoothing).
- :mod:`~ramansr.figures.registration`: Fig. 3 (template matching of the HR maps).
- :mod:`~ramansr.figures.fourier`: Figs. S2 and S3 (the Fourier selection of the components).
- :mod:`~ramansr.figures.examples`: Figs. 4 and 5 (every model's output on example pairs).
- :mod:`~ramansr.figures.training`: the training curves.

This module holds what they share: the models' display names and a scan's pixel size.
"""

import numpy as np

from ramansr.io_utils import load_npz
from ramansr.metrics import MODEL_LABELS


def model_label(name):
    """The paper's display name of a model."""
    return MODEL_LABELS.get(name, name)


def pixel_size_from_spectra(spectra_path):
    """A scan's pixel size in um (the column step), or NaN, from the preprocess stage's spectra file."""
    size = np.asarray(load_npz(spectra_path)["pixel_size_um"], dtype=float).ravel()
    return float(size[-1]) if size.size else float("nan")
