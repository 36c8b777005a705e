"""LR/HR training pairs from the kept components of every area, and their split.

Data contract, ``pairs.npz``:

- ``lowres`` (n, h, w) float32 and ``highres`` (n, H, W) float32: each map
  min-max normalised to [0, 1] on its own, as the paper's map images are;
- ``lowres_range`` and ``highres_range`` (n, 2): the (low, high) each map was
  normalised with, to undo it;
- ``position`` (n, 2) float32: the area's registered (X, Y);
- ``pair_id`` (n,) str, ``{sample}_{area}_c{component}``;
- ``factor`` () int: the run's SR factor (from ``geometry.json``, see
  :mod:`ramansr.geometry`), which training, scoring and the figures use;
- ``highres_clean`` (n, H, W) float32, simulated data only: the noise-free HR
  map, normalised with the measured map's range so that both share a scale.

``split.csv`` has one row per pair: pair_id, sample, area, component, X, Y,
split (train / val / test).
"""

import json
import sys

import numpy as np
import pandas as pd

from ramansr.io_utils import atomic_path, save_npz

SPLITS = ("train", "val", "test")


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


def apply_range(maps, low, high):
    """Normalise maps with given per-map (low, high), e.g. a clean map with its noisy map's range."""
    low = np.asarray(low, dtype=np.float32)[:, None, None]
    span = np.asarray(high, dtype=np.float32)[:, None, None] - low
    return ((np.asarray(maps, dtype=np.float32) - low) / np.where(span > 0, span, 1.0)).astype(np.float32)


def collect_pairs(areas):
    """Gather the kept components of every area into one set of pairs.

    Parameters
    ----------
    areas : iterable of dict
        Per area: ``sample``, ``area``, and the paths ``decomposition``
        (npz with lowres_maps and highres_maps), ``registration`` (json with
        X, Y), ``selection`` (json with per-component keep), and optionally
        ``clean`` (npz with highres_maps of the noise-free scan).

    Returns
    -------
    arrays : dict of ndarray, the contents of ``pairs.npz``
    table : pandas.DataFrame, one row per pair (without the split column)
    """
    arrays = {key: [] for key in ("lowres", "highres", "lowres_range", "highres_range", "position", "highres_clean")}
    rows = []
    for area in areas:
        with np.load(area["decomposition"]) as decomposition:
            lr_maps, hr_maps = decomposition["lowres_maps"], decomposition["highres_maps"]
        with open(area["registration"]) as handle:
            registration = json.load(handle)
        with open(area["selection"]) as handle:
            kept = [c["component"] for c in json.load(handle)["components"] if c["keep"]]
        if not kept:
            print(f"area {area['sample']}/{area['area']} left out: no component passed the selection "
                  f"(see results/tables/selection.md)", file=sys.stderr)
            continue
        lr_norm, lr_low, lr_high = normalize_maps(lr_maps[kept])
        hr_norm, hr_low, hr_high = normalize_maps(hr_maps[kept])
        arrays["lowres"].extend(lr_norm)
        arrays["highres"].extend(hr_norm)
        arrays["lowres_range"].extend(np.stack([lr_low, lr_high], axis=1))
        arrays["highres_range"].extend(np.stack([hr_low, hr_high], axis=1))
        if area.get("clean"):
            with np.load(area["clean"]) as clean:
                arrays["highres_clean"].extend(apply_range(clean["highres_maps"][kept], hr_low, hr_high))
        position = (registration["X"], registration["Y"])
        for component in kept:
            arrays["position"].append(position)
            rows.append(
                {
                    "pair_id": f"{area['sample']}_{area['area']}_c{component}",
                    "sample": str(area["sample"]),
                    "area": str(area["area"]),
                    "component": component,
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
        areas = sorted(set(zip(table["sample"], table["area"])))
        raise ValueError(
            f"the {' and '.join(empty)} split would be empty: {len(table)} pairs from "
            f"{len(areas)} area(s) {[f'{s}/{a}' for s, a in areas]} passed the selection "
            "(results/tables/selection.md says why others did not); add areas, or change dataset: split "
            "or dataset: group_by_area"
        )


def write_dataset(arrays, table, pairs_path, split_path):
    """Write ``pairs.npz`` and ``split.csv`` atomically."""
    save_npz(pairs_path, **arrays)
    with atomic_path(split_path) as tmp:
        table.to_csv(tmp, index=False)


def build_dataset_files(
    areas, decomposition, registration, selection, clean, pairs_path, split_path, weights=(40, 6, 8), group_by_area=True,
    seed=0, *, geometry_path, keep_doubtful=False
):
    """The ``dataset`` stage: collect every area's kept pairs, split, write.

    ``areas`` is a list of (sample, area); the path lists are aligned with it;
    ``clean`` is None for real data; ``geometry_path`` is the run's
    ``geometry.json`` (the SR factor). Areas whose registration is doubtful
    (see :func:`ramansr.register.doubts`) are left out, and named on stderr,
    unless ``keep_doubtful``.
    """
    from ramansr.geometry import read_factor

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
    arrays, table = collect_pairs(records)
    arrays["factor"] = np.array(read_factor(geometry_path))
    table["split"] = split_pairs(table, weights, group_by_area, seed)
    check_split(table)
    write_dataset(arrays, table, pairs_path, split_path)


def _doubtful(record):
    """Whether an area's registration is doubtful; says so on stderr (the job's log) when it is."""
    import sys

    with open(record["registration"]) as handle:
        reasons = json.load(handle).get("doubts", [])
    if reasons:
        print(f"sample {record['sample']}, area {record['area']}: left out, doubtful registration "
              f"({'; '.join(reasons)}); set register: keep_doubtful to keep it", file=sys.stderr)
    return bool(reasons)
