"""The pair set: window positions, augmentation, crop batches, window extraction."""

import numpy as np
import pytest
import torch

from ramansr.pairs import PairSet, augment_pair, extract_windows, make_batch, window_positions


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
