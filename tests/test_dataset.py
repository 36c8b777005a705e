import json

import numpy as np
import pandas as pd
import pytest

from ramansr.dataset import apply_range, build_dataset_files, collect_pairs, normalize_maps, split_pairs
from ramansr.io_utils import load_npz, save_npz


def test_normalize_maps_round_trip():
    rng = np.random.default_rng(0)
    maps = rng.normal(3, 2, size=(3, 5, 6)).astype(np.float32)
    normalized, low, high = normalize_maps(maps)
    assert normalized.min() == 0 and normalized.max() == 1
    np.testing.assert_allclose(normalized * (high - low)[:, None, None] + low[:, None, None], maps, atol=1e-5)
    np.testing.assert_allclose(apply_range(maps, low, high), normalized, atol=1e-6)


def test_constant_map_normalizes_to_zero():
    normalized, _, _ = normalize_maps(np.full((1, 4, 4), 7.0))
    assert np.all(normalized == 0)


def area_files(tmp_path, sample, area, keep, rng, clean=False):
    folder = tmp_path / sample / area
    folder.mkdir(parents=True)
    k = len(keep)
    save_npz(folder / "nmf.npz", lowres_maps=rng.random((k, 8, 8)), highres_maps=rng.random((k, 8, 8)))
    (folder / "reg.json").write_text(json.dumps({"X": 3.5, "Y": 7.25}))
    (folder / "sel.json").write_text(json.dumps({"components": [{"component": i, "keep": kp} for i, kp in enumerate(keep)]}))
    record = {
        "sample": sample,
        "area": area,
        "decomposition": folder / "nmf.npz",
        "registration": folder / "reg.json",
        "selection": folder / "sel.json",
    }
    if clean:
        save_npz(folder / "clean.npz", highres_maps=rng.random((k, 8, 8)))
        record["clean"] = folder / "clean.npz"
    return record


def test_collect_pairs_keeps_only_selected_components(tmp_path):
    rng = np.random.default_rng(1)
    areas = [area_files(tmp_path, "A", "1", [True, False, True], rng), area_files(tmp_path, "B", "2", [False, True], rng)]
    arrays, table = collect_pairs(areas)
    assert list(table["pair_id"]) == ["A_1_c0", "A_1_c2", "B_2_c1"]
    assert arrays["lowres"].shape == (3, 8, 8) and arrays["highres"].shape == (3, 8, 8)
    np.testing.assert_array_equal(arrays["position"][0], [3.5, 7.25])
    assert arrays["lowres"].min() == 0 and arrays["lowres"].max() == 1
    assert "highres_clean" not in arrays


def test_clean_maps_share_the_measured_range(tmp_path):
    rng = np.random.default_rng(2)
    arrays, _ = collect_pairs([area_files(tmp_path, "A", "1", [True, True], rng, clean=True)])
    assert arrays["highres_clean"].shape == arrays["highres"].shape
    low, high = arrays["highres_range"][0]
    raw_clean = load_npz(tmp_path / "A" / "1" / "clean.npz")["highres_maps"][0]
    np.testing.assert_allclose(arrays["highres_clean"][0], (raw_clean - low) / (high - low), atol=1e-5)


def test_no_kept_component_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no component passed"):
        collect_pairs([area_files(tmp_path, "A", "1", [False], np.random.default_rng(3))])


def pair_table(components_per_area):
    rows = [
        {"sample": f"S{a}", "area": "1", "component": c}
        for a, n in enumerate(components_per_area)
        for c in range(n)
    ]
    return pd.DataFrame(rows)


def test_group_split_keeps_areas_together_and_matches_proportions():
    table = pair_table([2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 2])
    split = split_pairs(table, (40, 6, 8), group_by_area=True, seed=0)
    assert split.groupby(table["sample"]).nunique().max() == 1
    counts = split.value_counts()
    assert abs(counts["train"] - 40) <= 3 and abs(counts["val"] - 6) <= 3 and abs(counts["test"] - 8) <= 3


def test_random_split_has_the_exact_counts():
    table = pair_table([2] * 27)
    counts = split_pairs(table, (40, 6, 8), group_by_area=False, seed=0).value_counts()
    assert (counts["train"], counts["val"], counts["test"]) == (40, 6, 8)


def test_split_is_seeded():
    table = pair_table([2, 3, 1, 2, 2, 3, 1, 2])
    pd.testing.assert_series_equal(split_pairs(table, seed=4), split_pairs(table, seed=4))


def test_build_dataset_files_writes_pairs_and_split(tmp_path):
    rng = np.random.default_rng(5)
    records = [area_files(tmp_path, s, "1", [True, True], rng) for s in "ABCDEF"]
    geometry = tmp_path / "geometry.json"
    geometry.write_text('{"factor": 3, "areas": []}')
    build_dataset_files(
        [(r["sample"], r["area"]) for r in records],
        [r["decomposition"] for r in records],
        [r["registration"] for r in records],
        [r["selection"] for r in records],
        None,
        tmp_path / "pairs.npz",
        tmp_path / "split.csv",
        geometry_path=geometry,
    )
    split = pd.read_csv(tmp_path / "split.csv")
    pairs = load_npz(tmp_path / "pairs.npz")
    assert int(pairs["factor"]) == 3  # the run's factor travels with the pairs
    assert list(split.columns) == ["pair_id", "sample", "area", "component", "X", "Y", "split"]
    assert list(pairs["pair_id"]) == list(split["pair_id"])
    assert set(split["split"]) == {"train", "val", "test"}


def test_doubtful_areas_are_left_out_unless_kept(tmp_path, capsys):
    rng = np.random.default_rng(6)
    records = [area_files(tmp_path, s, "1", [True, True], rng) for s in "ABCD"]
    doubtful = json.loads(records[1]["registration"].read_text())
    doubtful["doubts"] = ["peak correlation 0.40 < 0.7"]
    records[1]["registration"].write_text(json.dumps(doubtful))
    geometry = tmp_path / "geometry.json"
    geometry.write_text('{"factor": 4, "areas": []}')
    arguments = ([(r["sample"], r["area"]) for r in records], [r["decomposition"] for r in records],
                 [r["registration"] for r in records], [r["selection"] for r in records], None)
    build_dataset_files(*arguments, tmp_path / "pairs.npz", tmp_path / "split.csv", (2, 1, 1), geometry_path=geometry)
    assert "B" not in set(pd.read_csv(tmp_path / "split.csv", dtype=str)["sample"])
    assert "sample B, area 1: left out, doubtful registration (peak correlation 0.40 < 0.7)" in capsys.readouterr().err
    build_dataset_files(*arguments, tmp_path / "kept.npz", tmp_path / "kept.csv", (2, 1, 1), geometry_path=geometry,
                        keep_doubtful=True)
    assert "B" in set(pd.read_csv(tmp_path / "kept.csv", dtype=str)["sample"])
