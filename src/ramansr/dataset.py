"""LR/HR training pairs from the kept components of every area, and their split.

Every pair follows the intensity convention of :mod:`ramansr.convention`
(``INTENSITY_CONVENTION``): LR map and HR target on the LR map's scale.

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
  run's areas (:func:`ramansr.geometry.steps.trained_steps`), which the checkpoints record and prediction
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

from ramansr.bands import component_channels
from ramansr.convention import INTENSITY_CONVENTION, calibrate_to_lowres, normalize_maps
from ramansr.io_utils import read_json, save_npz, write_csv
from ramansr.preprocess import scale_with_range

SPLITS = ("train", "val", "test")


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


def split_pairs(table, *, weights, group_by_area, seed):
    """Assign each pair to train, val or test in the given proportions.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per pair with ``sample`` and ``area`` columns.
    weights : sequence of 3 numbers
        Relative sizes of train, val, test (``dataset: split``; the paper's 40/6/8 of 54).
    group_by_area : bool
        Keep all components of one area on one side, so that no test image
        shares a scan with a training image (config.yaml's choice). False gives the
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


def fold_split(table, held_out, *, weights, seed):
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


def write_fold_split(split_path, held_out, out_path, *, weights, seed):
    """The ``cv_split`` stage: the run's ``split.csv`` with one fold's split column.

    Refuses a fold with nothing to train on (the held-out sample is the only one with pairs).
    """
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    table["split"] = fold_split(table, held_out, weights=weights, seed=seed)
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
    *,
    weights,
    group_by_area,
    seed,
    geometry_path,
    keep_doubtful,
):
    """The ``dataset`` stage: collect every area's kept pairs, split, write.

    ``areas`` is a list of (sample, area); the path lists are aligned with it;
    ``clean`` is None for real data; ``geometry_path`` is the run's
    ``geometry.json`` (the SR factor). Areas whose registration is doubtful
    (see :func:`ramansr.register.doubts`) are left out, and named on stderr,
    unless ``keep_doubtful``. ``weights``, ``group_by_area`` and ``seed`` are the config's
    ``dataset:`` entries, ``keep_doubtful`` its ``register: keep_doubtful``.
    """
    from ramansr.geometry.areas import read_factor
    from ramansr.geometry.steps import trained_steps

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
    table["split"] = split_pairs(table, weights=weights, group_by_area=group_by_area, seed=seed)
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
