"""LR/HR training pairs from the kept components of every area, and their split.

One intensity scale from LR input to HR target (``INTENSITY_CONVENTION``):
the HR map is first expressed in its LR map's units by :func:`calibrate_to_lowres`
(gain and offset fitted on the registered overlap), then the LR map and the
HR target are both normalised with the LR map's (low, high). Normalising each
map on its own, as the paper's map images are, makes the target's scale
unknowable from the input wherever the HR window's content range differs from
the LR field's (a window on a cell, at one end of a gradient); the network
then learns an average contrast remap and ``predict``, undoing the LR map's
range, gets the output's intensities wrong.

Data contract, ``pairs.npz``:

- ``lowres`` (n, h, w) float32: each LR map min-max normalised to [0, 1];
- ``highres`` (n, H, W) float32: the HR map in LR units, normalised with the
  LR map's range (so mostly, not exactly, in [0, 1]);
- ``lowres_range`` and ``highres_range`` (n, 2): the (low, high) the maps were
  normalised with (both the LR map's, in LR units);
- ``calibration`` (n, 2): (gain, offset) that took the HR map to LR units;
- ``position`` (n, 2) float32: the area's registered (X, Y);
- ``pair_id`` (n,) str, ``{sample}_{area}_c{component}``;
- ``factor`` () int: the run's SR factor (from ``geometry.json``, see
  :mod:`ramansr.geometry`), which training, scoring and the figures use;
- ``intensity_convention`` () str: ``INTENSITY_CONVENTION``;
- ``lowres_step_um``, ``highres_step_um`` (2,): the smallest and largest LR and HR steps (um) of the
  run's areas (:func:`ramansr.geometry.trained_steps`), which the checkpoints record and prediction
  checks a scan against;
- ``highres_clean`` (n, H, W) float32, simulated data only: the noise-free HR
  map in LR units (the HR scan at the LR objective's collection efficiency,
  through the LR scan's processing), normalised with the LR map's range: the
  true target, independent of the calibration.

``split.csv`` has one row per pair: pair_id, sample, area, component, channel (the component's
place in the chemistry-consistent order of :func:`ramansr.bands.component_channels`, which a joint
model's input channels follow), X, Y, split (train / val / test). A leave-one-sample-out fold's split
(:func:`fold_split`, ``results/cv/{fold}/split.csv``) has the same rows and columns.
"""

import sys

import numpy as np
import pandas as pd
from scipy import ndimage

from ramansr.bands import component_channels
from ramansr.io_utils import read_json, save_npz, write_csv
from ramansr.preprocess import scale_with_range
from ramansr.register import lr_point_to_upscaled

SPLITS = ("train", "val", "test")

#: How pairs.npz and the checkpoints trained on it scale intensities: LR map and
#: HR target both normalised with the LR map's (low, high), the HR map first
#: calibrated to LR units. Checkpoints record it; predict refuses any other.
INTENSITY_CONVENTION = "lowres_range"


def normalize_maps(maps):
    """Min-max normalise each map of a stack to [0, 1].

    Parameters
    ----------
    maps : ndarray, shape (k, rows, cols)

    Returns
    -------
    normalized : ndarray of float32, shape (k, rows, cols)
    low, high : ndarray, shape (k,)
        ``maps == normalized * (high - low) + low`` per map.
    """
    maps = np.asarray(maps, dtype=np.float32)
    low = maps.min(axis=(1, 2))
    high = maps.max(axis=(1, 2))
    span = np.where(high > low, high - low, 1.0)  # a constant map stays at 0
    return ((maps - low[:, None, None]) / span[:, None, None]).astype(np.float32), low, high


def colocated_points(lowres_shape, position, window_shape, factor):
    """LR scan points that fall inside the HR window, and where they fall in it.

    Parameters
    ----------
    lowres_shape : (h, w)
    position : (X, Y)
        The window's top-left corner in the ``factor``-upscaled LR map
        (half-pixel convention of :mod:`ramansr.register`).
    window_shape : (H, W)
    factor : int

    Returns
    -------
    lowres_index : tuple of two int arrays
        (rows, cols) of the LR points inside the window.
    window_coords : ndarray, shape (2, m)
        Their (row, col) in HR window pixels, floats.
    """
    rows = lr_point_to_upscaled(np.arange(lowres_shape[0]), factor) - float(position[1])
    cols = lr_point_to_upscaled(np.arange(lowres_shape[1]), factor) - float(position[0])
    inside_rows = np.flatnonzero((rows >= 0) & (rows <= window_shape[0] - 1))
    inside_cols = np.flatnonzero((cols >= 0) & (cols <= window_shape[1] - 1))
    grid_rows, grid_cols = np.meshgrid(inside_rows, inside_cols, indexing="ij")
    coords = np.stack([rows[grid_rows].ravel(), cols[grid_cols].ravel()])
    return (grid_rows.ravel(), grid_cols.ravel()), coords


def calibrate_to_lowres(lowres_map, highres_map, position, factor):
    """Gain and offset that express an HR map in its LR map's units.

    Fits ``lowres ~ gain * highres + offset`` at the LR points under the
    registered window, by instrumental variables: the slope is
    ``cov(lowres, z) / cov(highres, z)`` with ``highres`` the HR map sampled
    at the LR points (bilinear) and the instrument ``z`` the HR map smoothed
    (Gaussian, sigma ``factor / 2`` HR pixels) at the same points. Ordinary
    least squares on the raw HR samples is pulled towards zero by the HR
    map's noise; on the smoothed ones it overestimates the slope, since the
    smoothing removes contrast the LR points keep; matching the window's
    moments (std ratio) takes the LR noise for contrast. The instrument is
    (nearly) free of the HR noise and correlates with both sides' structure,
    so neither bias arises. Measured against the truth's maps in LR units on
    simulated heterogeneous areas (PSNR, median over maps): at the .test
    geometry (36 LR points per window) 31.3 dB, against 29.3 for least
    squares on the smoothed samples and 30.3 for moments; at the paper's
    (625 points) 35.7, moments 36.1 (a tie), least squares lower. With the HR
    cube first put on the LR channel scale
    (:func:`ramansr.decompose.highres_in_lowres_units`) 32.9 and 40.2 dB;
    each map min-max normalised on its own, as before, 20.0 and 22.2 dB. A
    slope at or below zero (no shared structure, only noise) is clamped to 0:
    the target is then the LR window's mean, all the LR input says about it.

    Parameters
    ----------
    lowres_map : ndarray, (h, w)
    highres_map : ndarray, (H, W)
    position : (X, Y)
        The registered window corner in the upscaled LR map.
    factor : int
        The SR factor.

    Returns
    -------
    gain, offset : float
    """
    index, coords = colocated_points(lowres_map.shape, position, highres_map.shape, factor)
    if coords.shape[1] < 3:
        raise ValueError(
            f"only {coords.shape[1]} LR points fall inside the HR window at {tuple(position)}: "
            "too few to calibrate the HR map's intensity"
        )
    highres_map = np.asarray(highres_map, np.float64)
    x = ndimage.map_coordinates(highres_map, coords, order=1, mode="nearest")
    z = ndimage.map_coordinates(
        ndimage.gaussian_filter(highres_map, sigma=factor / 2, mode="nearest"), coords, order=1, mode="nearest"
    )
    y = np.asarray(lowres_map, np.float64)[index]
    z_centred = z - z.mean()
    covariance_x = float(z_centred @ (x - x.mean()))
    gain = max(float(z_centred @ (y - y.mean())) / covariance_x, 0.0) if covariance_x > 0 else 0.0
    return gain, float(y.mean() - gain * x.mean())


def pair_scale_agreement(lowres, highres, positions, factor):
    """How well each HR target agrees in scale with its upscaled LR input under the window.

    Parameters
    ----------
    lowres : ndarray, (n, h, w)
    highres : ndarray, (n, H, W)
    positions : ndarray, (n, 2)
    factor : int

    Returns
    -------
    pandas.DataFrame
        Per pair: ``mean_difference`` (HR mean minus the LR window's mean)
        and ``std_ratio`` (HR std over the LR window's std), both on the
        stored scale; the LR map upscaled bilinearly (OpenCV).
    """
    from ramansr.metrics import crop_window
    from ramansr.register import upscale

    rows = []
    for lowres_map, highres_map, position in zip(lowres, highres, positions, strict=True):
        window = crop_window(upscale(lowres_map, factor), position, highres_map.shape)
        rows.append(
            {
                "mean_difference": float(highres_map.mean() - window.mean()),
                "std_ratio": float(highres_map.std() / max(window.std(), 1e-12)),
            }
        )
    return pd.DataFrame(rows)


def collect_pairs(areas, factor):
    """Gather the kept components of every area into one set of pairs.

    Parameters
    ----------
    areas : iterable of dict
        Per area: ``sample``, ``area``, and the paths ``decomposition``
        (npz with lowres_maps and highres_maps), ``registration`` (json with
        X, Y), ``selection`` (json with per-component keep), and optionally
        ``clean`` (npz with ``highres_maps`` of the noise-free HR scan in LR
        units, see :func:`ramansr.decompose.clean_maps_file`).
    factor : int
        The SR factor (LR step / HR step).

    Returns
    -------
    arrays : dict of ndarray, the contents of ``pairs.npz``
    table : pandas.DataFrame, one row per pair (without the split column)
    """
    keys = ("lowres", "highres", "lowres_range", "highres_range", "calibration", "position", "highres_clean")
    arrays = {key: [] for key in keys}
    rows = []
    for area in areas:
        with np.load(area["decomposition"]) as decomposition:
            lr_maps, hr_maps = decomposition["lowres_maps"], decomposition["highres_maps"]
            channels = component_channels(decomposition["spectra"], decomposition["wavenumbers"])
        registration = read_json(area["registration"])
        kept = [c["component"] for c in read_json(area["selection"])["components"] if c["keep"]]
        if not kept:
            print(
                f"area {area['sample']}/{area['area']} left out: no component passed the selection "
                f"(see results/tables/selection.md)",
                file=sys.stderr,
            )
            continue
        position = (registration["X"], registration["Y"])
        calibration = np.array([calibrate_to_lowres(lr_maps[c], hr_maps[c], position, factor) for c in kept])
        hr_in_lowres_units = calibration[:, :1, None] * hr_maps[kept] + calibration[:, 1:, None]
        lr_norm, lr_low, lr_high = normalize_maps(lr_maps[kept])
        arrays["lowres"].extend(lr_norm)
        arrays["highres"].extend(scale_with_range(hr_in_lowres_units.astype(np.float32), lr_low, lr_high, axis=0))
        arrays["lowres_range"].extend(np.stack([lr_low, lr_high], axis=1))
        arrays["highres_range"].extend(np.stack([lr_low, lr_high], axis=1))
        arrays["calibration"].extend(calibration)
        if area.get("clean"):
            with np.load(area["clean"]) as clean:
                arrays["highres_clean"].extend(
                    scale_with_range(clean["highres_maps"][kept].astype(np.float32), lr_low, lr_high, axis=0)
                )
        for component in kept:
            arrays["position"].append(position)
            rows.append(
                {
                    "pair_id": f"{area['sample']}_{area['area']}_c{component}",
                    "sample": str(area["sample"]),
                    "area": str(area["area"]),
                    "component": component,
                    "channel": int(channels[component]),
                    "X": position[0],
                    "Y": position[1],
                }
            )
    if not rows:
        raise ValueError("no component passed the selection in any area: no pairs to train on")
    if arrays["highres_clean"] and len(arrays["highres_clean"]) != len(rows):
        raise ValueError("clean maps were given for some areas but not all")
    table = pd.DataFrame(rows)
    out = {key: np.asarray(value, dtype=np.float32) for key, value in arrays.items() if len(value)}
    out["pair_id"] = table["pair_id"].to_numpy(dtype=str)
    out["intensity_convention"] = np.array(INTENSITY_CONVENTION)
    return out, table


def _targets(n_pairs, weights):
    """Pair counts per split proportional to ``weights``, summing to ``n_pairs``."""
    weights = np.asarray(weights, dtype=float)
    raw = n_pairs * weights / weights.sum()
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n_pairs - counts.sum()]] += 1
    return counts


def split_pairs(table, weights=(40, 6, 8), group_by_area=True, seed=0):
    """Assign each pair to train, val or test in the given proportions.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per pair with ``sample`` and ``area`` columns.
    weights : sequence of 3 numbers
        Relative sizes of train, val, test (the paper's 40/6/8 of 54).
    group_by_area : bool
        Keep all components of one area on one side, so that no test image
        shares a scan with a training image (the default). False gives the
        paper's plain random split over pairs.
    seed : int

    Returns
    -------
    pandas.Series of str, aligned with ``table``.
    """
    rng = np.random.default_rng(seed)
    targets = _targets(len(table), weights)
    if not group_by_area:
        labels = np.repeat(SPLITS, targets)
        return pd.Series(rng.permutation(labels), index=table.index, name="split")
    groups = table.groupby(["sample", "area"], sort=True).groups
    keys = list(groups)
    order = rng.permutation(len(keys))
    assigned = np.zeros(3, dtype=int)
    split = pd.Series("", index=table.index, name="split")
    # Fill the smallest splits first so that val and test get areas even when few exist.
    for key in (keys[i] for i in order):
        members = groups[key]
        deficit = (targets - assigned) / np.maximum(targets, 1)
        choice = int(np.argmax(deficit))
        split[members] = SPLITS[choice]
        assigned[choice] += len(members)
    return split


def check_split(table):
    """Refuse a split with nothing to train on or nothing to test on (naming the areas that gave pairs)."""
    empty = [split for split in ("train", "test") if not (table["split"] == split).any()]
    if empty:
        areas = sorted(set(zip(table["sample"], table["area"], strict=True)))
        raise ValueError(
            f"the {' and '.join(empty)} split would be empty: {len(table)} pairs from "
            f"{len(areas)} area(s) {[f'{s}/{a}' for s, a in areas]} passed the selection "
            "(results/tables/selection.md says why others did not); add areas, or change dataset: split "
            "or dataset: group_by_area"
        )


def fold_split(table, held_out, weights=(40, 6, 8), seed=0):
    """One fold's split: the held-out sample's pairs test, the other samples' areas train or val.

    Of the other samples' areas, a seeded random ``weights[1] / (weights[0] +
    weights[1])`` share (rounded; the run's ``dataset: split``) go to val,
    at least one and never all when there are two or more and ``weights[1] >
    0``; the rest train. Every component map of an area stays on one side.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per pair with ``sample`` and ``area`` columns (``split.csv``).
    held_out : str
        The sample to test on.
    weights : sequence of 3 numbers
        train, val, test sizes; the test size is not used.
    seed : int

    Returns
    -------
    pandas.Series of str (train / val / test), aligned with ``table``.
    """
    samples = table["sample"].astype(str)
    if held_out not in set(samples):
        raise ValueError(f"cross-validation fold {held_out!r}: no pair of sample {held_out!r} in the pair set")
    others = table[samples != held_out]
    other_areas = list(zip(others["sample"].astype(str), others["area"].astype(str), strict=True))
    areas = sorted(set(other_areas))
    n_val = 0
    if len(areas) >= 2 and weights[1] > 0:
        share = weights[1] / (weights[0] + weights[1])
        n_val = int(np.clip(round(len(areas) * share), 1, len(areas) - 1))
    chosen = np.random.default_rng(seed).permutation(len(areas))[:n_val]
    val_areas = {areas[i] for i in chosen}
    is_val = [area in val_areas for area in other_areas]
    split = pd.Series("test", index=table.index, name="split")
    split[others.index] = np.where(is_val, "val", "train")
    return split


def write_fold_split(split_path, held_out, out_path, weights=(40, 6, 8), seed=0):
    """The ``cv_split`` stage: the run's ``split.csv`` with one fold's split column.

    Refuses a fold with nothing to train on (the held-out sample is the only one with pairs).
    """
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    table["split"] = fold_split(table, held_out, weights, seed)
    try:
        check_split(table)
    except ValueError as error:
        raise ValueError(f"cross-validation fold {held_out!r} (held out): {error}") from error
    write_csv(table, out_path)


def write_dataset(arrays, table, pairs_path, split_path):
    """Write ``pairs.npz`` and ``split.csv`` atomically."""
    save_npz(pairs_path, **arrays)
    write_csv(table, split_path)


def build_dataset_files(
    areas,
    decomposition,
    registration,
    selection,
    clean,
    pairs_path,
    split_path,
    weights=(40, 6, 8),
    group_by_area=True,
    seed=0,
    *,
    geometry_path,
    keep_doubtful=False,
):
    """The ``dataset`` stage: collect every area's kept pairs, split, write.

    ``areas`` is a list of (sample, area); the path lists are aligned with it;
    ``clean`` is None for real data; ``geometry_path`` is the run's
    ``geometry.json`` (the SR factor). Areas whose registration is doubtful
    (see :func:`ramansr.register.doubts`) are left out, and named on stderr,
    unless ``keep_doubtful``.
    """
    from ramansr.geometry import read_factor, trained_steps

    records = [
        {
            "sample": sample,
            "area": area,
            "decomposition": decomposition[i],
            "registration": registration[i],
            "selection": selection[i],
            "clean": clean[i] if clean else None,
        }
        for i, (sample, area) in enumerate(areas)
    ]
    if not keep_doubtful:
        records = [record for record in records if not _doubtful(record)]
    factor = read_factor(geometry_path)
    arrays, table = collect_pairs(records, factor)
    arrays["factor"] = np.array(factor)
    steps = trained_steps(read_json(geometry_path))
    arrays["lowres_step_um"], arrays["highres_step_um"] = np.array(steps["lowres"]), np.array(steps["highres"])
    table["split"] = split_pairs(table, weights, group_by_area, seed)
    check_split(table)
    write_dataset(arrays, table, pairs_path, split_path)


def _doubtful(record):
    """Whether an area's registration is doubtful; says so on stderr (the job's log) when it is."""
    import sys

    reasons = read_json(record["registration"]).get("doubts", [])
    if reasons:
        print(
            f"sample {record['sample']}, area {record['area']}: left out, doubtful registration "
            f"({'; '.join(reasons)}); set register: keep_doubtful to keep it",
            file=sys.stderr,
        )
    return bool(reasons)
