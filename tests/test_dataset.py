import json

import numpy as np
import pandas as pd
import pytest

from ramansr.convention import INTENSITY_CONVENTION, calibrate_to_lowres, colocated_points, normalize_maps
from ramansr.dataset import build_dataset_files, collect_pairs, pair_scale_agreement, split_pairs
from ramansr.io_utils import load_npz, save_npz
from ramansr.preprocess import scale_with_range
from ramansr.register import upscale


def test_normalize_maps_round_trip():
    rng = np.random.default_rng(0)
    maps = rng.normal(3, 2, size=(3, 5, 6)).astype(np.float32)
    normalized, low, high = normalize_maps(maps)
    assert normalized.min() == 0 and normalized.max() == 1
    np.testing.assert_allclose(normalized * (high - low)[:, None, None] + low[:, None, None], maps, atol=1e-5)
    np.testing.assert_allclose(scale_with_range(maps, low, high, axis=0), normalized, atol=1e-6)


def test_constant_map_normalizes_to_zero():
    normalized, _, _ = normalize_maps(np.full((1, 4, 4), 7.0))
    assert np.all(normalized == 0)


def smooth_field(rng, shape, sigma):
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (field - field.min()) / np.ptp(field)


def heterogeneous_area(rng, gain=6.0, offset=40.0, lr_points=24, window=(40, 44), position=(18.0, 4.0)):
    """An LR map of a specimen and the HR map of a window on it, in other units.

    The specimen (upscaled grid, pixel j at LR point (j + 0.5) / 4 - 0.5) has
    fine structure, and its top half (where the window lies) is brighter, so
    the window's range differs from the field's; the LR map point-samples it
    with noise, the HR map is ``gain * specimen + offset`` with less noise.
    """
    size = 4 * lr_points
    specimen = 0.4 * smooth_field(rng, (size, size), 3.0)
    specimen[: size // 2] += 0.5
    lowres = specimen[1::4, 1::4][:, :lr_points] + 0.01 * rng.standard_normal((lr_points, lr_points))
    x, y = int(position[0]), int(position[1])
    truth = specimen[y : y + window[0], x : x + window[1]]
    highres = gain * truth + offset + 0.02 * gain * rng.standard_normal(window)
    return lowres.astype(np.float32), highres.astype(np.float32), truth


def test_colocated_points_lie_inside_the_window():
    index, coords = colocated_points((10, 12), (5.0, 9.0), (16, 20), 4)
    # LR point p sits at upscaled pixel 4p + 1.5: rows 9..24 hold points 2..5, cols 5..24 points 1..5
    assert sorted(set(index[0])) == [2, 3, 4, 5] and sorted(set(index[1])) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(coords[:, 0], [4 * 2 + 1.5 - 9, 4 * 1 + 1.5 - 5])


def test_calibration_recovers_the_hr_maps_units():
    rng = np.random.default_rng(4)
    lowres, highres, truth = heterogeneous_area(rng)
    gain, offset = calibrate_to_lowres(lowres, highres, (18.0, 4.0), 4)
    # lowres ~ truth = (highres - 40) / 6
    assert gain == pytest.approx(1 / 6.0, rel=0.05) and offset == pytest.approx(-40 / 6.0, rel=0.05)
    assert np.abs(gain * highres + offset - truth).mean() < 0.03


def test_calibration_of_pure_noise_gives_the_lr_windows_mean():
    rng = np.random.default_rng(5)
    lowres = rng.random((30, 30)).astype(np.float32)
    highres = rng.standard_normal((80, 80)).astype(np.float32)
    gain, offset = calibrate_to_lowres(lowres, highres, (8.0, 8.0), 4)
    index, _ = colocated_points(lowres.shape, (8.0, 8.0), highres.shape, 4)
    # no shared structure: the calibrated map is nearly flat, at the LR window's mean
    assert gain * highres.std() < 0.1 * lowres.std()
    assert gain * highres.mean() + offset == pytest.approx(lowres[index].mean(), abs=0.02)


def test_a_window_with_too_few_lr_points_is_an_error():
    with pytest.raises(ValueError, match="too few to calibrate"):
        calibrate_to_lowres(np.ones((10, 10)), np.ones((5, 5)), (0.0, 0.0), 4)


def test_hr_targets_share_the_lr_inputs_scale_on_a_heterogeneous_area(tmp_path):
    """The issue's failure: a window on a bright region. Each map min-max normalised on its own
    (the old pairs) puts the target on another scale than its input; the pairs do not."""
    rng = np.random.default_rng(6)
    lowres, highres, _ = heterogeneous_area(rng)
    folder = tmp_path / "A" / "1"
    folder.mkdir(parents=True)
    save_npz(folder / "nmf.npz", lowres_maps=lowres[None], highres_maps=highres[None], **component_spectra([2900.0]))
    (folder / "reg.json").write_text(json.dumps({"X": 18.0, "Y": 4.0}))
    (folder / "sel.json").write_text(json.dumps({"components": [{"component": 0, "keep": True}]}))
    record = {
        "sample": "A",
        "area": "1",
        "decomposition": folder / "nmf.npz",
        "registration": folder / "reg.json",
        "selection": folder / "sel.json",
    }
    arrays, _ = collect_pairs([record], 4)
    assert str(arrays["intensity_convention"]) == INTENSITY_CONVENTION
    positions = arrays["position"]
    new = pair_scale_agreement(arrays["lowres"], arrays["highres"], positions, 4).iloc[0]
    own = pair_scale_agreement(normalize_maps(lowres[None])[0], normalize_maps(highres[None])[0], positions, 4).iloc[0]
    assert abs(own["mean_difference"]) > 0.15 and not 0.7 < own["std_ratio"] < 1.4
    assert abs(new["mean_difference"]) < 0.03 and 0.8 < new["std_ratio"] < 1.3
    # and the target, block-averaged to the LR grid, is what the LR map shows there
    window = upscale(arrays["lowres"][0], 4)[4:44, 18:62]
    assert np.abs(arrays["highres"][0] - window).mean() < 0.1


def component_spectra(peaks):
    """``spectra`` (one band per component, at ``peaks``) and ``wavenumbers`` of an nmf.npz."""
    wavenumbers = np.linspace(500.0, 3500.0, 61)
    spectra = np.stack([np.exp(-(((wavenumbers - peak) / 100.0) ** 2)) for peak in peaks]).astype(np.float32)
    return {"spectra": spectra, "wavenumbers": wavenumbers}


def area_files(tmp_path, sample, area, keep, rng, clean=False, peaks=None):
    folder = tmp_path / sample / area
    folder.mkdir(parents=True)
    k = len(keep)
    save_npz(
        folder / "nmf.npz",
        lowres_maps=rng.random((k, 8, 8)),
        highres_maps=rng.random((k, 16, 16)),
        **component_spectra(peaks or np.linspace(1000.0, 3000.0, k)),
    )
    (folder / "reg.json").write_text(json.dumps({"X": 3.5, "Y": 7.25}))
    (folder / "sel.json").write_text(
        json.dumps({"components": [{"component": i, "keep": kp} for i, kp in enumerate(keep)]})
    )
    record = {
        "sample": sample,
        "area": area,
        "decomposition": folder / "nmf.npz",
        "registration": folder / "reg.json",
        "selection": folder / "sel.json",
    }
    if clean:
        save_npz(folder / "clean.npz", highres_maps=rng.random((k, 16, 16)))
        record["clean"] = folder / "clean.npz"
    return record


def test_collect_pairs_keeps_only_selected_components(tmp_path):
    rng = np.random.default_rng(1)
    areas = [
        area_files(tmp_path, "A", "1", [True, False, True], rng),
        area_files(tmp_path, "B", "2", [False, True], rng),
    ]
    arrays, table = collect_pairs(areas, 4)
    assert list(table["pair_id"]) == ["A_1_c0", "A_1_c2", "B_2_c1"]
    assert arrays["lowres"].shape == (3, 8, 8) and arrays["highres"].shape == (3, 16, 16)
    np.testing.assert_array_equal(arrays["position"][0], [3.5, 7.25])
    assert arrays["lowres"].min() == 0 and arrays["lowres"].max() == 1
    assert "highres_clean" not in arrays


def test_clean_maps_share_the_lr_maps_range(tmp_path):
    rng = np.random.default_rng(2)
    arrays, _ = collect_pairs([area_files(tmp_path, "A", "1", [True, True], rng, clean=True)], 4)
    assert arrays["highres_clean"].shape == arrays["highres"].shape
    low, high = arrays["lowres_range"][0]
    np.testing.assert_array_equal(arrays["highres_range"], arrays["lowres_range"])
    raw_clean = load_npz(tmp_path / "A" / "1" / "clean.npz")["highres_maps"][0]
    np.testing.assert_allclose(arrays["highres_clean"][0], (raw_clean - low) / (high - low), atol=1e-5)


def test_no_kept_component_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no component passed"):
        collect_pairs([area_files(tmp_path, "A", "1", [False], np.random.default_rng(3))], 4)


def pair_table(components_per_area):
    rows = [
        {"sample": f"S{a}", "area": "1", "component": c} for a, n in enumerate(components_per_area) for c in range(n)
    ]
    return pd.DataFrame(rows)


def test_group_split_keeps_areas_together_and_matches_proportions():
    table = pair_table([2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2])
    split = split_pairs(table, weights=(40, 6, 8), group_by_area=True, seed=0)
    assert split.groupby(table["sample"]).nunique().max() == 1
    counts = split.value_counts()
    assert abs(counts["train"] - 40) <= 3 and abs(counts["val"] - 6) <= 3 and abs(counts["test"] - 8) <= 3


def test_random_split_has_the_exact_counts():
    table = pair_table([2] * 27)
    counts = split_pairs(table, weights=(40, 6, 8), group_by_area=False, seed=0).value_counts()
    assert (counts["train"], counts["val"], counts["test"]) == (40, 6, 8)


def test_split_is_seeded():
    table = pair_table([2, 3, 1, 2, 2, 3, 1, 2])
    split = {"weights": (40, 6, 8), "group_by_area": True, "seed": 4}
    pd.testing.assert_series_equal(split_pairs(table, **split), split_pairs(table, **split))


def test_build_dataset_files_writes_pairs_and_split(tmp_path):
    rng = np.random.default_rng(5)
    records = [area_files(tmp_path, s, "1", [True, True], rng) for s in "ABCDEF"]
    geometry = tmp_path / "geometry.json"
    steps = [([1.5, 1.5], [0.5, 0.5], False), ([1.6, 1.5], [0.55, 0.5], True)]  # the second resampled
    areas = [{"factor": 3, "lowres_step_um": lr, "highres_step_um": hr, "resample": re} for lr, hr, re in steps]
    geometry.write_text(json.dumps({"factor": 3, "areas": areas}))
    build_dataset_files(
        [(r["sample"], r["area"]) for r in records],
        [r["decomposition"] for r in records],
        [r["registration"] for r in records],
        [r["selection"] for r in records],
        None,
        tmp_path / "pairs.npz",
        tmp_path / "split.csv",
        weights=(40, 6, 8),
        group_by_area=True,
        seed=0,
        geometry_path=geometry,
        keep_doubtful=False,
    )
    split = pd.read_csv(tmp_path / "split.csv")
    pairs = load_npz(tmp_path / "pairs.npz")
    assert int(pairs["factor"]) == 3  # the run's factor travels with the pairs
    # and the range of its steps, which the checkpoints record (a resampled HR scan: LR step / factor)
    np.testing.assert_allclose(pairs["lowres_step_um"], [1.5, 1.6])
    np.testing.assert_allclose(pairs["highres_step_um"], [0.5, 1.6 / 3])
    assert list(split.columns) == ["pair_id", "sample", "area", "component", "channel", "X", "Y", "split"]
    assert list(pairs["pair_id"]) == list(split["pair_id"])
    assert set(split["split"]) == {"train", "val", "test"}


def test_doubtful_areas_are_left_out_unless_kept(tmp_path, capsys):
    rng = np.random.default_rng(6)
    records = [area_files(tmp_path, s, "1", [True, True], rng) for s in "ABCD"]
    doubtful = json.loads(records[1]["registration"].read_text())
    doubtful["doubts"] = ["peak correlation 0.40 < 0.7"]
    records[1]["registration"].write_text(json.dumps(doubtful))
    geometry = tmp_path / "geometry.json"
    area = {"factor": 4, "lowres_step_um": [2.0, 2.0], "highres_step_um": [0.5, 0.5], "resample": False}
    geometry.write_text(json.dumps({"factor": 4, "areas": [area]}))
    arguments = (
        [(r["sample"], r["area"]) for r in records],
        [r["decomposition"] for r in records],
        [r["registration"] for r in records],
        [r["selection"] for r in records],
        None,
    )
    split = {"weights": (2, 1, 1), "group_by_area": True, "seed": 0, "geometry_path": geometry}
    build_dataset_files(*arguments, tmp_path / "pairs.npz", tmp_path / "split.csv", **split, keep_doubtful=False)
    assert "B" not in set(pd.read_csv(tmp_path / "split.csv", dtype=str)["sample"])
    assert "sample B, area 1: left out, doubtful registration (peak correlation 0.40 < 0.7)" in capsys.readouterr().err
    build_dataset_files(*arguments, tmp_path / "kept.npz", tmp_path / "kept.csv", **split, keep_doubtful=True)
    assert "B" in set(pd.read_csv(tmp_path / "kept.csv", dtype=str)["sample"])


def test_the_same_phase_gets_the_same_channel_in_every_area(tmp_path):
    # NMF returned area A/2's components in the reverse order of A/1's (as on the embedded data)
    rng = np.random.default_rng(3)
    records = [
        area_files(tmp_path, "A", "1", [True, True, True], rng, peaks=[1000.0, 2900.0, 3300.0]),
        area_files(tmp_path, "A", "2", [True, False, True], rng, peaks=[3300.0, 2900.0, 1000.0]),
    ]
    _, table = collect_pairs(records, 2)
    channel = dict(zip(table["pair_id"], table["channel"], strict=True))
    assert channel == {"A_1_c0": 0, "A_1_c1": 1, "A_1_c2": 2, "A_2_c0": 2, "A_2_c2": 0}
