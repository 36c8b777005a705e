"""Non-negative matrix factorisation (and PCA, for comparison) of spectral cubes.

Data contract: the input is a preprocessed float32 cube (rows, cols, channels)
in [0, 1]. Component maps are float32 (k, rows, cols) and component spectra
float32 (k, channels). As in the paper, NMF is fitted on an area's LR scan
and the same fitted model transforms its HR scan, so component ``i`` means the
same chemistry in both maps.
"""

import warnings

import joblib
import numpy as np
from sklearn.decomposition import NMF, PCA
from sklearn.exceptions import ConvergenceWarning

from ramansr.io_utils import atomic_path, load_npz, read_json, save_npz
from ramansr.preprocess import align_scan, scale_with_range, spectral_chain, unscale_channels
from ramansr.truth import clean_cube, read_truth


def _pixels(cube):
    return cube.reshape(-1, cube.shape[-1])


def _maps(scores, shape):
    """(pixels, k) scores -> (k, rows, cols) maps."""
    return np.ascontiguousarray(scores.T.reshape(-1, *shape[:2]), dtype=np.float32)


def fit_nmf(cube, n_components, seed=0, max_iter=400, tol=1e-4):
    """Fit NMF to a cube's spectra.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, channels), non-negative
    n_components : int
    seed : int
        ``random_state`` of the fit; with the deterministic NNDSVDa start the
        fit is repeatable.
    max_iter : int
        The most iterations (of the fit, and of each later transform).
    tol : float
        Stop when scikit-learn's convergence measure (for the ``cd`` solver: the
        projected gradient relative to the first iteration's) falls below this;
        ``max_iter`` is then only a cap.

    Returns
    -------
    maps : ndarray of float32, shape (k, rows, cols)
    spectra : ndarray of float32, shape (k, channels)
    model : sklearn.decomposition.NMF
        The fitted model, for :func:`transform_nmf`.
    """
    model = NMF(n_components=n_components, init="nndsvda", max_iter=max_iter, tol=tol, random_state=seed)
    with warnings.catch_warnings():
        # max_iter is a cap: stopping there before tol is reached leaves maps that no longer change visibly
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = model.fit_transform(_pixels(cube))
    return _maps(scores, cube.shape), model.components_.astype(np.float32), model


def transform_nmf(model, cube):
    """Component maps of ``cube`` under an already fitted NMF model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = model.transform(_pixels(cube))
    return _maps(scores, cube.shape)


def fit_pca(cube, n_components):
    """PCA of a cube's spectra, for the PCA-against-NMF comparison.

    Returns
    -------
    maps : ndarray of float32, shape (k, rows, cols)
    spectra : ndarray of float32, shape (k, channels)
    explained_variance_ratio : ndarray, shape (k,)
    """
    pca = PCA(n_components=n_components, svd_solver="randomized", random_state=0)
    scores = pca.fit_transform(_pixels(cube))
    return _maps(scores, cube.shape), pca.components_.astype(np.float32), pca.explained_variance_ratio_


def check_area_scans(lowres_cube, highres_cube, n_components, pca_components, names=("lowres", "highres")):
    """Refuse an area's pair of cubes that cannot be decomposed into meaningful maps.

    Parameters
    ----------
    lowres_cube, highres_cube : ndarray, (rows, cols, channels)
        Preprocessed (per-channel scaled) cubes.
    n_components, pca_components : int
        ``decompose: n_components`` and ``decompose: pca_components``.
    names : (str, str)
        How the error names the LR and the HR scan (their source files).

    Raises
    ------
    ValueError
        Naming the scan and the numbers: a scan of fewer than 2 x 2 points, a
        blank scan (after per-channel scaling every value equal: no channel
        varies across the map), LR and HR with different channel counts, or
        more components than the LR scan has channels or points.
    """
    for cube, name in zip((lowres_cube, highres_cube), names, strict=True):
        rows, cols = cube.shape[:2]
        if rows < 2 or cols < 2:
            raise ValueError(f"{name}: a {rows} x {cols} scan is not a map (at least 2 x 2 points needed)")
        if np.ptp(cube) == 0:
            raise ValueError(
                f"{name}: blank scan, no channel varies across its {rows} x {cols} points "
                f"(every value is {float(cube.flat[0]):g} after scaling)"
            )
    if lowres_cube.shape[2] != highres_cube.shape[2]:
        raise ValueError(
            f"{names[0]} has {lowres_cube.shape[2]} channels but {names[1]} has "
            f"{highres_cube.shape[2]}: an area's LR and HR scans must share one spectral axis"
        )
    limit = min(lowres_cube.shape[2], lowres_cube.shape[0] * lowres_cube.shape[1])
    for key, value in (("n_components", n_components), ("pca_components", pca_components)):
        if value > limit:
            raise ValueError(
                f"decompose: {key}: {value} is more than {names[0]} allows "
                f"({lowres_cube.shape[2]} channels, {lowres_cube.shape[0] * lowres_cube.shape[1]} points)"
            )


def collection_ratio(lowres_spectrum, highres_spectrum):
    """Rough HR/LR collection-efficiency ratio: the ratio of the scans' total counts (mean spectra summed).

    The counts are those with the detector offset removed, each scan's own (:mod:`ramansr.background`):
    an offset does not scale with the light collected, and left in it drags the ratio towards one.
    Only a first guess, made before the window is found: where the window's chemistry differs from
    the field's it is off by per cents (simulated paper geometry, areas of all six samples: +0.6 to
    +6.6 %; a gain fitted together with a free offset over the channels took up part of that
    difference as offset and was off by -2 to -22 %), which the per-map calibration on the
    registered overlap (:func:`ramansr.convention.calibrate_to_lowres`, gain and offset) then corrects.

    Parameters
    ----------
    lowres_spectrum, highres_spectrum : array_like, shape (channels,)
        Each scan's mean spectrum, in counts (:func:`mean_spectrum`).

    Returns
    -------
    float
        1.0 when either total is not positive (nothing to calibrate with).
    """
    lowres_total, highres_total = float(np.sum(lowres_spectrum)), float(np.sum(highres_spectrum))
    return highres_total / lowres_total if lowres_total > 0 and highres_total > 0 else 1.0


def mean_spectrum(scan):
    """The mean spectrum, in counts, of a preprocessed scan before its fluorescence baseline was removed.

    ``scan`` holds the per-channel scaled ``cube``, ``data_min``, ``data_max`` and, when a baseline
    was removed, its mean ``baseline``. Scaling is affine per channel, so the mean commutes with
    undoing it: no unscaled copy of the cube. The baseline is added back because fluorescence is
    collected as the Raman light is, and the fit under the bands differs between a noisier and a
    cleaner scan.
    """
    mean = scan["cube"].reshape(-1, scan["cube"].shape[-1]).mean(axis=0, dtype=np.float64)
    counts = unscale_channels(mean, scan["data_min"], scan["data_max"]).astype(np.float64)
    return counts + np.asarray(scan.get("baseline", 0.0), np.float64)


def highres_in_lowres_units(lowres, highres):
    """The HR cube rescaled to the LR scan's channel scaling, for the LR-fitted NMF model.

    Each scan's per-channel MinMax (the paper's) scales the HR window's
    channels by the window's own range; where the window's chemistry differs
    from the field's, that reweights the channels and the LR model's maps of
    it mix components. Undoing it, dividing by :func:`collection_ratio` and
    scaling with the LR scan's channel range keeps one scale; negative values
    (noise below the LR minimum) are clipped, as NMF needs.

    Parameters
    ----------
    lowres, highres : mapping
        Preprocessed scans: ``cube`` (rows, cols, channels), ``data_min``,
        ``data_max`` (channels,).

    Returns
    -------
    cube : ndarray of float32, the HR cube's shape
    ratio : float
        The collection ratio used.
    """
    ratio = collection_ratio(mean_spectrum(lowres), mean_spectrum(highres))
    highres_counts = unscale_channels(highres["cube"], highres["data_min"], highres["data_max"])
    highres_counts /= np.float32(ratio)
    cube = np.clip(scale_with_range(highres_counts, lowres["data_min"], lowres["data_max"]), 0.0, None)
    return cube, ratio


def decompose_area_files(
    lowres_path,
    highres_path,
    nmf_path,
    pca_path,
    model_path,
    n_components,
    pca_components,
    seed,
    max_iter,
    tol,
    names=None,
):
    """The ``decompose`` stage for one area: NMF fitted on LR, applied to HR; PCA of LR.

    The HR cube goes in on the LR scan's channel scale
    (:func:`highres_in_lowres_units`). Writes ``nmf_path`` (lowres_maps,
    highres_maps, spectra, wavenumbers, collection_ratio),
    ``pca_path`` (maps, spectra, explained_variance_ratio) and the fitted NMF
    model (joblib) for later transforms of other cubes of this area. ``names``
    (LR, HR) are how errors name the scans (default: the input paths); see
    :func:`check_area_scans` for what is refused.
    """
    lowres, highres = load_npz(lowres_path), load_npz(highres_path)
    check_area_scans(
        lowres["cube"], highres["cube"], n_components, pca_components, names or (str(lowres_path), str(highres_path))
    )
    lr_maps, spectra, model = fit_nmf(lowres["cube"], n_components, seed, max_iter, tol)
    highres_cube, ratio = highres_in_lowres_units(lowres, highres)
    hr_maps = transform_nmf(model, highres_cube)
    pca_maps, pca_spectra, explained = fit_pca(lowres["cube"], pca_components)
    save_npz(
        nmf_path,
        lowres_maps=lr_maps,
        highres_maps=hr_maps,
        spectra=spectra,
        wavenumbers=lowres["wavenumbers"],
        collection_ratio=np.float32(ratio),
    )
    save_npz(
        pca_path,
        maps=pca_maps,
        spectra=pca_spectra,
        explained_variance_ratio=explained,
        wavenumbers=lowres["wavenumbers"],
    )
    with atomic_path(model_path) as tmp:
        joblib.dump(model, tmp)


def clean_maps_file(truth_path, model_path, spectra_paths, out_path, settings, *, geometry_path, lowres_header_path):
    """Component maps of a simulated area's noise-free scans in LR units (for scoring only).

    The clean LR cube goes through exactly the measured LR scan's processing
    (the same smoothing and, when it is on, baseline removal; its channel
    range; the NMF model fitted on it); the clean HR cube too, after division
    by the true collection-efficiency ratio of the two objectives: the HR
    truth as the LR objective would have collected it, in the LR maps' units.
    That is the reference for scores on the common LR scale, and it does not
    depend on how the pipeline calibrated the measured HR maps. The clean
    cubes have no spikes (no despiking), and no detector offset: what each
    measured scan had removed beyond its true offset (an estimate from the
    counts also takes the floor that the bands and the fluorescence never
    leave) comes off its clean cube, as it came off the scan. Their
    fluorescence is the truth's, which the baseline removal (when on) treats as
    it treats the measured scans'.

    Parameters
    ----------
    spectra_paths : dict
        ``{"lowres": path, ...}`` of the preprocess stage's small files; the
        LR one holds the LR scan's channel range.
    settings : mapping
        The config's ``preprocess:`` section.
    geometry_path, lowres_header_path :
        The area's geometry file and its LR scan header: the clean cubes are
        aligned as the measured ones are.
    """
    truth = read_truth(truth_path)
    model = joblib.load(model_path)
    record = read_json(geometry_path)
    lowres_wavenumbers = read_json(lowres_header_path)["wavenumbers"]
    spectra = {scan: load_npz(path) for scan, path in spectra_paths.items()}
    ranges = spectra["lowres"]
    efficiency_ratio = truth["highres_scale"] / truth["lowres_scale"]
    noise_free = {**settings, "offset": "none", "despike": {"enabled": False}}
    maps = {}
    for scan, divisor in (("lowres", 1.0), ("highres", efficiency_ratio)):
        cube, wavenumbers = align_scan(
            clean_cube(truth, scan), np.asarray(truth["wavenumbers"]), scan, record, lowres_wavenumbers
        )
        # in place and each stage's cube let go once the next exists: at most two cubes at a time
        # the floor in the scan's offset estimate, beyond the detector's true offset
        cube -= np.asarray(spectra[scan]["offset"], np.float32) - np.float32(truth.get(f"{scan}_offset", 0.0))
        cube /= divisor
        signal, _ = spectral_chain(
            cube, wavenumbers, noise_free, name=f"{truth_path} ({scan}, noise-free)", overwrite=True
        )
        del cube
        scaled = scale_with_range(signal, ranges["data_min"], ranges["data_max"])
        del signal
        maps[f"{scan}_maps"] = transform_nmf(model, np.clip(scaled, 0.0, None, out=scaled))
        del scaled
    save_npz(out_path, **maps)
