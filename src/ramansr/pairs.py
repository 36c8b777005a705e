"""The LR/HR pair set a model learns from: reading a split, window positions, augmentation, batches.

A pair is a whole LR map (h, w) and an HR window (H, W) whose top-left corner (X, Y) lies in the LR
map upscaled by the run's SR factor; :mod:`ramansr.dataset` writes them to ``pairs.npz`` and
``split.csv``. :func:`make_batch` stacks pairs (optionally flipped and rotated, optionally cropped to
the LR region under the window) for :mod:`ramansr.trainer`, and :func:`extract_windows` cuts the HR
windows out of a model's output, where the loss is measured.

The registered corner (X, Y) is sub-pixel; the loss cuts the window out of the model's output at whole
pixels. By default the corner is rounded (:func:`window_positions`), so each target sits up to half an
HR pixel off the output pixels it is compared with, a random shift per pair that rewards a blurred
output. :func:`align_windows` resamples each HR window onto the output's own grid instead (cubic
spline, :func:`ramansr.metrics.sample_window`), one pixel smaller, so that the loss compares like with
like (measured in ``benchmarks/bench_subpixel.py``: no gain, so the pipeline rounds); the scores'
counterpart is ``subpixel`` scoring (:func:`ramansr.metrics.score_predictions`).

A joint model (:data:`ramansr.models.JOINT`) learns from areas instead: each sample of its set is an
area's component maps stacked as channels (:func:`area_channels`, :func:`stack_channels`), in the
chemistry-consistent order of split.csv's ``channel`` (:func:`ramansr.bands.component_channels`:
NMF's own component order differs between areas), as many as the run's ``decompose: n_components``.
A component that selection dropped in that area has no pair: its input channel is zeros and
:attr:`PairSet.mask` leaves it out of the loss and the validation scores. Zeros are what a min-max
normalised map without contrast is, so the input says "nothing here" rather than inventing a map;
and keeping such areas keeps their other maps' training signal, which restricting the model to
complete areas would throw away (the more so the more components a run decomposes into), and scores
the joint model on the very maps the single-map models are scored on, so that their tables compare
like with like.
"""

import math

import numpy as np
import pandas as pd
import torch

from ramansr.metrics import sample_window


class PairSet:
    """The pairs (or, for a joint model, the area stacks) of one split, with integer window positions.

    Attributes
    ----------
    lowres : ndarray, (n, C, h, w) float32
        C = 1 for single maps; a joint set's C is the run's number of components.
    highres : ndarray, (n, C, H, W) float32
    mask : ndarray, (n, C) bool
        Which channels hold a pair (False: a component selection dropped, zeros in both maps).
    positions : ndarray, (n, 2) int64
        (X, Y) rounded to whole pixels and kept inside the upscaled LR map.
    pair_ids : ndarray of str, (n,)
        The pairs' ids, or ``{sample}_{area}`` for area stacks.
    factor : int
        The run's SR factor.
    """

    def __init__(self, lowres, highres, positions, pair_ids, factor, mask=None):
        lowres, highres = np.asarray(lowres, dtype=np.float32), np.asarray(highres, dtype=np.float32)
        if lowres.ndim == 3:  # single maps: one channel each
            lowres, highres = lowres[:, None], highres[:, None]
        self.lowres = np.ascontiguousarray(lowres)
        self.highres = np.ascontiguousarray(highres)
        self.mask = np.ones(self.lowres.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        self.pair_ids = np.asarray(pair_ids, dtype=str)
        self.factor = int(factor)
        self.positions = window_positions(positions, self.lowres.shape[-2:], self.highres.shape[-2:], self.factor)

    def __len__(self):
        return len(self.pair_ids)


def window_positions(positions, lowres_shape, window_shape, factor):
    """Round (X, Y) to pixels and clamp so the window lies inside the upscaled LR map.

    Parameters
    ----------
    positions : array-like, (n, 2)
        (X, Y) of each window's top-left corner.
    lowres_shape : (h, w)
    window_shape : (H, W)
    factor : int
        The SR factor.

    Returns
    -------
    ndarray, (n, 2) int64
    """
    # the bounds are whole pixels, so clamping before rounding is clamping after it
    return np.rint(clamped_positions(positions, lowres_shape, window_shape, factor)).astype(np.int64)


def clamped_positions(positions, lowres_shape, window_shape, factor):
    """(X, Y) kept so that each window lies inside the upscaled LR map (float64, (n, 2)).

    Raises
    ------
    ValueError
        When the window does not fit in the upscaled LR map at all.
    """
    x_max = factor * lowres_shape[1] - window_shape[1]
    y_max = factor * lowres_shape[0] - window_shape[0]
    if x_max < 0 or y_max < 0:
        raise ValueError(
            f"HR window {tuple(window_shape)} does not fit in the {factor}x-upscaled LR map {tuple(lowres_shape)}"
        )
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    return np.stack([np.clip(positions[:, 0], 0, x_max), np.clip(positions[:, 1], 0, y_max)], axis=1)


def align_windows(highres, positions, lowres_shape, factor):
    """HR windows resampled onto the whole pixels of the upscaled LR map, and their new corners.

    A window whose corner (X, Y) has a fractional part is sampled by cubic spline
    (:func:`ramansr.metrics.sample_window`) at the corner (ceil X, ceil Y): its pixel (i, j) then
    holds the map at upscaled pixel (ceil Y + i, ceil X + j), where the model's output has a pixel.
    That is ``ceil X - X`` in [0, 1) into the window, so one pixel less along each axis keeps every
    sample inside it (no extrapolation). When every corner is whole, the windows are returned as they are.

    Parameters
    ----------
    highres : ndarray, (n, ..., H, W)
        The HR windows (a joint set's channel stacks share their area's corner).
    positions : array-like, (n, 2)
        (X, Y) of each window's top-left corner in the upscaled LR map; kept inside it first, as
        :func:`window_positions` keeps them.
    lowres_shape : (h, w)
    factor : int
        The SR factor.

    Returns
    -------
    highres : ndarray, (n, ..., H - 1, W - 1) of ``highres``' dtype, or ``highres`` itself
    positions : ndarray, (n, 2) int64
    """
    highres = np.asarray(highres)
    window_shape = highres.shape[-2:]
    positions = clamped_positions(positions, lowres_shape, window_shape, factor)
    corners = np.ceil(positions)
    if np.array_equal(corners, positions):
        return highres, corners.astype(np.int64)
    inner = (window_shape[0] - 1, window_shape[1] - 1)
    aligned = np.empty((*highres.shape[:-2], *inner), dtype=highres.dtype)
    for i, ((x, y), (corner_x, corner_y)) in enumerate(zip(positions, corners, strict=True)):
        windows = highres[i].reshape(-1, *window_shape)
        sampled = [sample_window(window, (corner_x - x, corner_y - y), inner) for window in windows]
        aligned[i] = np.stack(sampled).reshape(*highres.shape[1:-2], *inner)
    return aligned, corners.astype(np.int64)


def load_pairs(pairs_path, split_path, split, n_maps=None):
    """Read the pairs of one split from ``pairs.npz`` and ``split.csv``.

    Parameters
    ----------
    pairs_path, split_path : path-like
    split : {"train", "val", "test"}
    n_maps : int or None
        None: one sample per pair. An int: one sample per area, its component maps stacked as
        ``n_maps`` channels (for a joint model; see the module docstring).

    Returns
    -------
    PairSet

    Raises
    ------
    ValueError
        With ``n_maps``, if an area's maps are on different sides of the split (``dataset:
        group_by_area: false``) or a component index reaches ``n_maps``.
    """
    table = pd.read_csv(split_path, dtype={"pair_id": str, "sample": str, "area": str})
    with np.load(pairs_path) as pairs:
        order = pd.Index(pairs["pair_id"].astype(str))
        if n_maps is None:
            selected = order.isin(table.loc[table["split"] == split, "pair_id"])
            return PairSet(
                pairs["lowres"][selected],
                pairs["highres"][selected],
                pairs["position"][selected],
                pairs["pair_id"][selected],
                int(pairs["factor"]),
            )
        check_areas_unsplit(table, split_path)
        rows = table[table["split"] == split]
        areas, index = area_channels(rows, n_maps)
        index = np.where(index >= 0, order.get_indexer(rows["pair_id"].to_numpy())[index], -1)
        first = index.max(axis=1)  # every area has a pair: areas without one are not in the pair set
        return PairSet(
            stack_channels(pairs["lowres"], index),
            stack_channels(pairs["highres"], index),
            pairs["position"][first],
            (areas["sample"] + "_" + areas["area"]).to_numpy(dtype=str),
            int(pairs["factor"]),
            mask=index >= 0,
        )


def check_areas_unsplit(table, split_path):
    """Refuse a split that puts the maps of one area on different sides (a joint model learns from areas)."""
    sides = table.groupby(["sample", "area"])["split"].nunique()
    split_areas = [f"{sample}/{area}" for sample, area in sides.index[sides > 1]]
    if split_areas:
        raise ValueError(
            f"{split_path}: the maps of area(s) {split_areas} are on different sides of the split, but a joint "
            "model takes an area's maps together: set dataset: group_by_area: true, or leave the joint models "
            "out of models:"
        )


def area_channels(table, n_maps):
    """Which pair fills each channel of each area's stack of component maps.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per pair, with ``sample``, ``area`` and ``channel`` (any order, any subset of areas);
        a table without ``channel`` (split.csv of a version before it) stacks in ``component`` order.
    n_maps : int
        Channels per area: the run's number of components.

    Returns
    -------
    areas : pandas.DataFrame
        ``sample`` and ``area`` (str) of each stack, in order of first appearance.
    index : ndarray, (n_areas, n_maps) int64
        The positional row of ``table`` in each channel, -1 where the area has no pair for that
        channel (selection dropped its component).

    Raises
    ------
    ValueError
        If a component index is outside [0, n_maps) or an (area, component) appears twice.
    """
    keys = table[["sample", "area"]].astype(str)
    areas = keys.drop_duplicates().reset_index(drop=True)
    area_of = pd.MultiIndex.from_frame(areas).get_indexer(pd.MultiIndex.from_frame(keys))
    components = table["channel" if "channel" in table else "component"].to_numpy(dtype=np.int64)
    outside = (components < 0) | (components >= n_maps)
    if outside.any():
        raise ValueError(
            f"component(s) {sorted(set(components[outside].tolist()))} of the pair set are outside the "
            f"{n_maps} maps a joint model was built for (decompose: n_components)"
        )
    if pd.Series(zip(area_of, components, strict=True)).duplicated().any():
        raise ValueError("the pair set lists an (area, component) twice")
    index = np.full((len(areas), n_maps), -1, dtype=np.int64)
    index[area_of, components] = np.arange(len(table))
    return areas, index


def stack_channels(maps, index):
    """Stack maps as the channels :func:`area_channels` chose, zeros where a channel has no map.

    Parameters
    ----------
    maps : ndarray, (n, ...)
    index : ndarray, (n_areas, n_maps) int
        Rows of ``maps``, -1 for none.

    Returns
    -------
    ndarray, (n_areas, n_maps, ...) of ``maps``' dtype
    """
    maps = np.asarray(maps)
    stacked = np.zeros((*index.shape, *maps.shape[1:]), dtype=maps.dtype)
    present = index >= 0
    stacked[present] = maps[index[present]]
    return stacked


def intensity_convention(pairs_path):
    """The ``intensity_convention`` a pair set was written with (None for pair sets older than it)."""
    with np.load(pairs_path) as pairs:
        return str(pairs["intensity_convention"]) if "intensity_convention" in pairs.files else None


def pair_steps(pairs_path):
    """The LR and HR steps a pair set was made from (:func:`ramansr.geometry.steps.trained_steps`; None when older)."""
    with np.load(pairs_path) as pairs:
        if "lowres_step_um" not in pairs.files:
            return None
        return {"lowres": pairs["lowres_step_um"].tolist(), "highres": pairs["highres_step_um"].tolist()}


def augment_pair(lowres, highres, position, flip, rotations, factor):
    """Flip and rotate an LR map and its HR window together.

    Parameters
    ----------
    lowres : ndarray, (..., h, w)
        One map, or a stack of maps that all move together.
    highres : ndarray, (..., H, W)
    position : (X, Y) int
        Window corner in the upscaled LR map.
    flip : bool
        Mirror left-right first.
    rotations : int
        Then rotate this many quarter turns counter-clockwise (``np.rot90``).
    factor : int
        The SR factor.

    Returns
    -------
    lowres, highres, position
        The transformed map, window and corner.
    """
    x, y = int(position[0]), int(position[1])
    window_rows, window_cols = highres.shape[-2:]
    if flip:
        lowres, highres = lowres[..., ::-1], highres[..., ::-1]
        x = factor * lowres.shape[-1] - x - window_cols
    for _ in range(rotations):
        # a counter-clockwise quarter turn sends (row, col) to (cols - 1 - col, row)
        upscaled_cols = factor * lowres.shape[-1]
        x, y = y, upscaled_cols - x - window_cols
        lowres, highres = np.rot90(lowres, axes=(-2, -1)), np.rot90(highres, axes=(-2, -1))
        window_rows, window_cols = window_cols, window_rows
    return lowres, highres, (x, y)


def crop_bounds(start, window_size, lowres_size, margin, factor):
    """First LR index and length of the fixed-size LR crop that holds a window plus margin.

    The length depends only on the window size, so crops of one batch stack.

    Parameters
    ----------
    start : int
        Window start in upscaled pixels.
    window_size : int
        Window length in HR (upscaled) pixels.
    lowres_size : int
        LR map length along this axis.
    margin : int
        LR pixels of context on each side.
    factor : int
        The SR factor.
    """
    # +1: a window not aligned to the LR grid straddles one more LR pixel
    length = min(math.ceil(window_size / factor) + 1 + 2 * margin, lowres_size)
    first = min(max(start // factor - margin, 0), lowres_size - length)
    return first, length


def random_patch(highres, position, patch, rng):
    """A ``patch`` x ``patch`` piece of an HR window at a random place, and its corner.

    Parameters
    ----------
    highres : ndarray, (..., H, W)
    position : (X, Y) int
        The window's corner in the upscaled LR map.
    patch : int
        Side in HR pixels; a window smaller than that is kept whole along that side.
    rng : numpy.random.Generator

    Returns
    -------
    highres, position
        The piece and its corner in the upscaled LR map.
    """
    window_rows, window_cols = highres.shape[-2:]
    rows, cols = min(patch, window_rows), min(patch, window_cols)
    top = int(rng.integers(window_rows - rows + 1))
    left = int(rng.integers(window_cols - cols + 1))
    return highres[..., top : top + rows, left : left + cols], (position[0] + left, position[1] + top)


def make_batch(pairs, indices, *, mode, margin, rng=None, patch=0):
    """Inputs, targets and window corners of a batch, augmented when ``rng`` is given.

    Parameters
    ----------
    pairs : PairSet
    indices : sequence of int
    mode : {"full", "crop"}
    margin : int
        LR pixels of context in crop mode.
    rng : numpy.random.Generator or None
        Draws the flip and rotation of each pair; None means no augmentation.
    patch : int
        With ``rng``, train on a random ``patch`` x ``patch`` piece of each HR window (0: the whole
        window): smaller inputs make more, cheaper steps for the same compute.

    Returns
    -------
    lowres : ndarray, (B, C, h', w')
        Whole LR maps, or crops in crop mode (C: the set's channels, 1 for single maps).
    highres : ndarray, (B, C, H', W')
    positions : ndarray, (B, 2) int64
        Window corners in the upscaled model input.
    """
    lowres_batch, highres_batch, position_batch = [], [], []
    for index in indices:
        lowres, highres, position = pairs.lowres[index], pairs.highres[index], pairs.positions[index]
        if rng is not None:
            # quarter turns would change the batch's shapes unless both map and window are square
            square = lowres.shape[-2] == lowres.shape[-1] and highres.shape[-2] == highres.shape[-1]
            flip = bool(rng.integers(2))
            rotations = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
            lowres, highres, position = augment_pair(lowres, highres, position, flip, rotations, pairs.factor)
            if patch:
                highres, position = random_patch(highres, position, patch, rng)
        x, y = position
        if mode == "crop":
            row, rows = crop_bounds(y, highres.shape[-2], lowres.shape[-2], margin, pairs.factor)
            col, cols = crop_bounds(x, highres.shape[-1], lowres.shape[-1], margin, pairs.factor)
            lowres = lowres[..., row : row + rows, col : col + cols]
            x, y = x - pairs.factor * col, y - pairs.factor * row
        lowres_batch.append(lowres)
        highres_batch.append(highres)
        position_batch.append((x, y))
    return (
        np.stack(lowres_batch).astype(np.float32),
        np.stack(highres_batch).astype(np.float32),
        np.asarray(position_batch, dtype=np.int64),
    )


def extract_windows(upscaled, positions, window_shape):
    """Cut each sample's HR window out of the model output in one gather.

    Parameters
    ----------
    upscaled : torch.Tensor, (B, C, factor h, factor w)
    positions : torch.Tensor, (B, 2) int64
        (X, Y) corners.
    window_shape : (H, W)

    Returns
    -------
    torch.Tensor, (B, C, H, W)
    """
    window_rows, window_cols = window_shape
    rows = positions[:, 1, None] + torch.arange(window_rows, device=upscaled.device)  # (B, H)
    cols = positions[:, 0, None] + torch.arange(window_cols, device=upscaled.device)  # (B, W)
    batch = torch.arange(upscaled.shape[0], device=upscaled.device)[:, None, None]
    windows = upscaled.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return windows.permute(0, 3, 1, 2)
