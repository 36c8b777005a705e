"""The pair set: window positions, augmentation, crop batches, window extraction, a joint model's area stacks."""

import numpy as np
import pandas as pd
import pytest
import torch

from ramansr.pairs import (
    PairSet,
    align_windows,
    area_channels,
    augment_pair,
    extract_windows,
    load_pairs,
    make_batch,
    stack_channels,
    window_positions,
)


def test_window_positions_round_and_stay_inside():
    positions = window_positions([[3.4, 2.6], [-2.0, 50.0]], lowres_shape=(10, 12), window_shape=(16, 16), factor=4)
    np.testing.assert_array_equal(positions, [[3, 3], [0, 40 - 16]])
    positions = window_positions([[3.4, 2.6], [-2.0, 50.0]], lowres_shape=(10, 12), window_shape=(16, 16), factor=3)
    np.testing.assert_array_equal(positions, [[3, 3], [0, 30 - 16]])


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("rotations", [0, 1, 2, 3])
@pytest.mark.parametrize("window_shape", [(8, 8), (6, 10)])
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_augmented_window_still_lies_under_its_position(flip, rotations, window_shape, factor):
    rng = np.random.default_rng(0)
    lowres = rng.random((5, 7)).astype(np.float32)
    block = np.ones((factor, factor), np.float32)
    upscaled = np.kron(lowres, block)  # nearest-neighbour upscaling: commutes with flips/rotations
    x, y = 9, 5
    window = upscaled[y : y + window_shape[0], x : x + window_shape[1]]
    new_lowres, new_window, (new_x, new_y) = augment_pair(lowres, window, (x, y), flip, rotations, factor)
    new_upscaled = np.kron(new_lowres, block)
    rows, cols = new_window.shape
    np.testing.assert_array_equal(new_upscaled[new_y : new_y + rows, new_x : new_x + cols], new_window)


@pytest.mark.parametrize("augment", [False, True])
@pytest.mark.parametrize("factor", [2, 4])
def test_crop_mode_keeps_the_window_inside_its_crop(augment, factor):
    rng = np.random.default_rng(1)
    lowres = rng.random((4, 12, 14)).astype(np.float32)
    upscaled = np.kron(lowres, np.ones((1, factor, factor), np.float32))
    rows, cols = 12, 16  # a non-square window
    positions = np.array([[0, 0], [factor * 14 - cols, factor * 12 - rows], [5.6, 2.2], [9, 7]], np.float32)
    windows = np.stack(
        [
            upscaled[i, int(np.rint(y)) : int(np.rint(y)) + rows, int(np.rint(x)) : int(np.rint(x)) + cols]
            for i, (x, y) in enumerate(positions)
        ]
    )
    pairs = PairSet(lowres, windows, positions, [str(i) for i in range(4)], factor)
    crops, targets, corners = make_batch(pairs, range(4), mode="crop", margin=2, rng=rng if augment else None)
    # ceil(window / factor) + 1 + 2 * margin LR pixels per axis, at most the map; augmentation may swap no axes
    expected = [min(-(-size // factor) + 1 + 4, lr) for size, lr in ((rows, 12), (cols, 14))]
    assert crops.shape == (4, 1, *expected)
    for crop, target, (x, y) in zip(crops[:, 0], targets[:, 0], corners, strict=True):
        np.testing.assert_array_equal(np.kron(crop, np.ones((factor, factor)))[y : y + rows, x : x + cols], target)


@pytest.mark.parametrize("mode", ["crop", "full"])
def test_patches_are_random_pieces_of_the_window_under_their_corners(mode):
    factor, rows, cols, patch = 4, 12, 16, 6
    rng = np.random.default_rng(2)
    lowres = rng.random((3, 12, 14)).astype(np.float32)
    upscaled = np.kron(lowres, np.ones((1, factor, factor), np.float32))
    positions = np.array([[0, 0], [5, 9], [40, 36]])
    windows = np.stack([upscaled[i, y : y + rows, x : x + cols] for i, (x, y) in enumerate(positions)])
    pairs = PairSet(lowres, windows, positions, ["a", "b", "c"], factor)
    crops, targets, corners = make_batch(pairs, range(3), mode=mode, margin=2, rng=rng, patch=patch)
    assert targets.shape == (3, 1, patch, patch)
    for crop, target, (x, y) in zip(crops[:, 0], targets[:, 0], corners, strict=True):
        np.testing.assert_array_equal(np.kron(crop, np.ones((factor, factor)))[y : y + patch, x : x + patch], target)
    # the pieces move from one draw to the next
    _, other_targets, _ = make_batch(pairs, range(3), mode=mode, margin=2, rng=rng, patch=patch)
    assert not np.array_equal(targets, other_targets)


def test_extract_windows_matches_slicing():
    upscaled = torch.rand(3, 1, 20, 24)
    positions = torch.tensor([[0, 0], [8, 4], [7, 10]])
    windows = extract_windows(upscaled, positions, (10, 16))
    for sample, (x, y) in enumerate(positions.tolist()):
        torch.testing.assert_close(windows[sample], upscaled[sample, :, y : y + 10, x : x + 16])


def scene(rows, cols):
    """A smooth map as a function of (fractional) upscaled-pixel position."""
    return 0.5 + 0.3 * np.sin(0.35 * rows + 0.2) * np.cos(0.27 * cols) + 0.004 * rows


def windows_at(positions, shape):
    """Each corner's window of :func:`scene`, as a registration at that sub-pixel corner would pair it."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    return np.stack([scene(rows + y, cols + x) for x, y in positions]).astype(np.float32)


def test_aligned_windows_hold_the_map_at_the_output_pixels():
    positions = np.array([[13.3, 20.5], [30.0, 9.75], [-1.5, 70.0]])  # the last one beyond the map: clamped
    windows = windows_at(np.clip(positions, 0, 80 - 24), (24, 24))
    aligned, corners = align_windows(windows, positions, (20, 20), 4)
    np.testing.assert_array_equal(corners, [[14, 21], [30, 10], [0, 56]])
    assert aligned.shape == (3, 23, 23) and aligned.dtype == np.float32
    rows, cols = np.mgrid[0:80, 0:80].astype(np.float64)
    for window, (x, y) in zip(aligned, corners, strict=True):
        # up to the window's edge, where the spline continues the window's slope (not its curvature)
        np.testing.assert_allclose(window, scene(rows, cols)[y : y + 23, x : x + 23], atol=5e-3)
    # away from the edge, to the spline's accuracy
    np.testing.assert_allclose(aligned[0, 6:-6, 6:-6], scene(rows, cols)[27:38, 20:31], atol=2e-5)


def test_windows_at_whole_pixel_corners_are_kept_as_they_are():
    windows = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    aligned, corners = align_windows(windows, [[4.0, 3.0], [0.0, 12.0]], (5, 5), 4)
    assert aligned is windows
    np.testing.assert_array_equal(corners, [[4, 3], [0, 12]])


def test_an_aligned_pair_set_is_cut_from_the_model_output_without_a_shift():
    positions = np.array([[13.3, 20.5], [6.6, 2.45]])
    lowres = np.zeros((2, 12, 12), np.float32)
    pairs = PairSet(lowres, *align_windows(windows_at(positions, (16, 16)), positions, (12, 12), 4), ["a", "b"], 4)
    rounded = PairSet(lowres, windows_at(positions, (16, 16)), positions, ["a", "b"], 4)
    rows, cols = np.mgrid[0:48, 0:48].astype(np.float64)
    output = torch.from_numpy(np.stack([scene(rows, cols)] * 2)[:, None].astype(np.float32))  # a perfect model
    for pair_set, tolerance in ((pairs, 5e-3), (rounded, None)):
        _, targets, corners = make_batch(pair_set, range(2), mode="full", margin=0)
        windows = extract_windows(output, torch.from_numpy(corners), targets.shape[-2:]).numpy()
        if tolerance is None:  # rounding the corner shifts the target by up to half a pixel
            assert np.abs(windows - targets).max() > 0.05
        else:
            np.testing.assert_allclose(windows, targets, atol=tolerance)


def test_an_aligned_joint_stack_moves_its_channels_together():
    positions = np.array([[5.4, 7.8]])
    one = windows_at(positions, (12, 12))
    stack = np.stack([one[0], 2 * one[0], np.zeros_like(one[0])])[None]  # (1, 3, 12, 12), a dropped channel
    aligned, _ = align_windows(stack, positions, (8, 8), 4)
    single, _ = align_windows(one, positions, (8, 8), 4)
    assert aligned.shape == (1, 3, 11, 11)
    np.testing.assert_allclose(aligned[0, 0], single[0], atol=1e-7)
    np.testing.assert_allclose(aligned[0, 1], 2 * single[0], atol=1e-6)
    np.testing.assert_array_equal(aligned[0, 2], 0.0)


def joint_table():
    """Three areas of 3 components, listed out of order; selection dropped component 1 of B/2."""
    return pd.DataFrame(
        {
            "pair_id": ["A_1_c2", "A_1_c0", "B_2_c0", "A_1_c1", "B_2_c2", "C_1_c0", "C_1_c1", "C_1_c2"],
            "sample": ["A", "A", "B", "A", "B", "C", "C", "C"],
            "area": ["1", "1", "2", "1", "2", "1", "1", "1"],
            "component": [2, 0, 0, 1, 2, 0, 1, 2],
            "split": ["train", "train", "train", "train", "train", "val", "val", "val"],
        }
    )


def test_area_channels_put_each_component_in_its_channel_and_mark_a_dropped_one():
    areas, index = area_channels(joint_table(), 3)
    assert areas.values.tolist() == [["A", "1"], ["B", "2"], ["C", "1"]]
    np.testing.assert_array_equal(index, [[1, 3, 0], [2, -1, 4], [5, 6, 7]])
    maps = np.arange(8, dtype=np.float32)[:, None, None] + np.zeros((8, 2, 3), np.float32)
    stacked = stack_channels(maps, index)
    assert stacked.shape == (3, 3, 2, 3)
    np.testing.assert_array_equal(stacked[:, :, 0, 0], [[1, 3, 0], [2, 0, 4], [5, 6, 7]])
    assert not stacked[1, 1].any()  # the dropped component: zeros


def test_area_channels_follow_the_chemistry_consistent_channel_not_nmfs_component():
    table = joint_table()
    table["channel"] = table["component"]
    in_c = table["sample"] == "C"
    table.loc[in_c, "channel"] = 2 - table.loc[in_c, "component"]  # C/1's NMF order reversed
    _, index = area_channels(table, 3)
    np.testing.assert_array_equal(index, [[1, 3, 0], [2, -1, 4], [7, 6, 5]])


def test_area_channels_refuse_components_beyond_the_model_and_duplicates():
    with pytest.raises(ValueError, match=r"component\(s\) \[2\].*2 maps.*n_components"):
        area_channels(joint_table(), 2)
    table = joint_table()
    table.loc[1, "component"] = 2
    with pytest.raises(ValueError, match="twice"):
        area_channels(table, 3)


def write_joint_pairs(folder, table, factor=2):
    """pairs.npz for ``table``'s pairs: every map a constant (its row number + 1), windows likewise, one
    position per area."""
    n = len(table)
    values = np.arange(1, n + 1, dtype=np.float32)[:, None, None]
    area_x = {("A", "1"): 1.0, ("B", "2"): 3.0, ("C", "1"): 5.0}
    np.savez(
        folder / "pairs.npz",
        lowres=values + np.zeros((n, 6, 6), np.float32),
        highres=10 * values + np.zeros((n, 4, 4), np.float32),
        position=np.array([[area_x[(s, a)], 2.0] for s, a in zip(table["sample"], table["area"], strict=True)]),
        pair_id=table["pair_id"].to_numpy(str),
        factor=np.array(factor),
    )
    table.to_csv(folder / "split.csv", index=False)
    return folder / "pairs.npz", folder / "split.csv"


def test_joint_pair_sets_stack_an_areas_maps_and_mask_the_dropped_one(tmp_path):
    pairs_path, split_path = write_joint_pairs(tmp_path, joint_table())
    train = load_pairs(pairs_path, split_path, "train", n_maps=3)
    assert train.lowres.shape == (2, 3, 6, 6) and train.highres.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(train.pair_ids, ["A_1", "B_2"])
    # rows of pairs.npz are 1-based values: A/1 holds rows 2, 4, 1 as components 0, 1, 2
    np.testing.assert_array_equal(train.lowres[:, :, 0, 0], [[2, 4, 1], [3, 0, 5]])
    np.testing.assert_array_equal(train.highres[:, :, 0, 0], [[20, 40, 10], [30, 0, 50]])
    np.testing.assert_array_equal(train.mask, [[True, True, True], [True, False, True]])
    np.testing.assert_array_equal(train.positions, [[1, 2], [3, 2]])
    val = load_pairs(pairs_path, split_path, "val", n_maps=3)
    assert len(val) == 1 and val.mask.all()
    # single maps as before: one sample per pair, one channel, all kept
    single = load_pairs(pairs_path, split_path, "train")
    assert single.lowres.shape == (5, 1, 6, 6) and single.mask.shape == (5, 1) and single.mask.all()


def test_joint_pair_sets_refuse_an_area_split_across_sides(tmp_path):
    table = joint_table()
    table.loc[0, "split"] = "test"  # one map of A/1 on another side: group_by_area false
    pairs_path, split_path = write_joint_pairs(tmp_path, table)
    with pytest.raises(ValueError, match=r"area\(s\) \['A/1'\].*group_by_area: true"):
        load_pairs(pairs_path, split_path, "train", n_maps=3)
    assert len(load_pairs(pairs_path, split_path, "train")) == 4  # single maps do not mind


@pytest.mark.parametrize("mode", ["crop", "full"])
def test_augmentation_moves_an_areas_maps_together(mode):
    """Each channel of a joint batch is what the same draws make of that map alone."""
    factor, maps, rows, cols = 2, 3, 8, 8
    rng = np.random.default_rng(4)
    lowres = rng.random((4, maps, 10, 10)).astype(np.float32)
    upscaled = np.kron(lowres, np.ones((1, 1, factor, factor), np.float32))
    positions = np.array([[0, 0], [5, 9], [12, 3], [7, 7]])
    windows = np.stack([upscaled[i, :, y : y + rows, x : x + cols] for i, (x, y) in enumerate(positions)])
    mask = np.ones((4, maps), bool)
    joint = PairSet(lowres, windows, positions, list("abcd"), factor, mask=mask)
    crops, targets, corners = make_batch(joint, range(4), mode=mode, margin=1, rng=np.random.default_rng(9), patch=6)
    assert crops.shape[:2] == (4, maps) and targets.shape == (4, maps, 6, 6)
    for channel in range(maps):
        single = PairSet(lowres[:, channel], windows[:, channel], positions, list("abcd"), factor)
        single_batch = make_batch(single, range(4), mode=mode, margin=1, rng=np.random.default_rng(9), patch=6)
        np.testing.assert_array_equal(crops[:, channel], single_batch[0][:, 0])
        np.testing.assert_array_equal(targets[:, channel], single_batch[1][:, 0])
        np.testing.assert_array_equal(corners, single_batch[2])
    # and the window still lies under its corner in every channel
    for crop, target, (x, y) in zip(crops, targets, corners, strict=True):
        upscaled_crop = np.kron(crop, np.ones((1, factor, factor)))
        np.testing.assert_array_equal(upscaled_crop[:, y : y + 6, x : x + 6], target)


def test_a_stack_is_flipped_and_rotated_as_each_of_its_maps():
    rng = np.random.default_rng(5)
    lowres, window = rng.random((3, 5, 7)), rng.random((3, 6, 4))
    stacked = augment_pair(lowres, window, (3, 2), True, 3, 2)
    for channel in range(3):
        alone = augment_pair(lowres[channel], window[channel], (3, 2), True, 3, 2)
        np.testing.assert_array_equal(stacked[0][channel], alone[0])
        np.testing.assert_array_equal(stacked[1][channel], alone[1])
        assert stacked[2] == alone[2]
