"""Stages refuse impossible inputs early, naming the scan, area or config key and the numbers (issue 16)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from ramansr.dataset import check_split
from ramansr.decompose import check_area_scans, decompose_area_files
from ramansr.io_utils import save_npz, write_json
from ramansr.preprocess import scale_channels, smooth_spectra
from ramansr.register import match_window, register_area
from ramansr.selection import (
    check_collapse,
    select_area_file,
    selection_markdown,
    selection_table,
    spectral_snr_db,
)

#: The select stage's settings, as config.yaml gives them.
SELECT = {"min_snr_db": 10.0, "low_band": (0.0, 0.1), "noise_band": (0.3, 0.5), "min_hr_contrast": 0.1}
NAMES = ("data/A/1_20x.mat (sample A, area 1)", "data/A/1_50x.mat (sample A, area 1)")


def smooth_map(shape, seed=0):
    return gaussian_filter(np.random.default_rng(seed).random(shape), 2).astype(np.float32)


def cube(rows, cols, channels, seed=0):
    """A preprocessed cube: smooth spatial structure, scaled per channel like the preprocess stage."""
    raw = np.random.default_rng(seed).random((rows, cols, channels)).astype(np.float32) + 1
    return scale_channels(smooth_spectra(raw, window_length=5, polyorder=2), clip_percentile=100.0)[0]


# --- registration and selection of blank or tiny maps --------------------------------------


def test_a_blank_hr_map_registers_with_confidence_zero_not_one():
    lowres = smooth_map((10, 10))
    assert match_window(lowres, np.ones((16, 16), np.float32), factor=4)[1] == 0.0
    assert match_window(np.zeros((10, 10), np.float32), smooth_map((16, 16)), factor=4)[1] == 0.0
    result = register_area(np.stack([lowres, lowres]), np.ones((2, 16, 16), np.float32), factor=4)
    assert result["confidence"] == 0.0


def test_a_one_pixel_map_is_refused_by_the_fourier_test_not_scored_nan():
    with pytest.raises(ValueError, match=r"1 x 1 map has no spatial frequency in low_band"):
        spectral_snr_db(np.ones((1, 1)), low_band=SELECT["low_band"], noise_band=SELECT["noise_band"])


def registration(tmp_path):
    """A registration file: the window at the corner of an LR map of its own size (factor 1)."""
    path = tmp_path / "registration.json"
    write_json({"X": 0.0, "Y": 0.0, "settings": {"factor": 1}}, path)
    return path


def test_the_select_stage_names_the_file_and_writes_no_nan(tmp_path):
    nmf = tmp_path / "nmf.npz"
    save_npz(nmf, lowres_maps=np.stack([smooth_map((24, 24))]), highres_maps=np.ones((1, 1, 1), np.float32))
    with pytest.raises(ValueError, match=str(nmf)):
        select_area_file(nmf, registration(tmp_path), tmp_path / "selection.json", **SELECT)
    assert not (tmp_path / "selection.json").exists()


def test_every_dropped_component_carries_its_reason(tmp_path, capfd):
    nmf = tmp_path / "nmf.npz"
    structured = smooth_map((32, 32))
    save_npz(
        nmf,
        lowres_maps=np.stack([structured, structured]),
        highres_maps=np.stack([smooth_map((32, 32), 1), np.zeros((32, 32), np.float32)]),
    )
    select_area_file(nmf, registration(tmp_path), tmp_path / "selection.json", **SELECT)
    components = json.loads((tmp_path / "selection.json").read_text())["components"]
    assert [c["keep"] for c in components] == [True, False]
    assert [c["collapsed"] for c in components] == [False, True]
    assert components[0]["reason"] == ""
    # a blank HR map under an LR map with signal: collapsed, named first, with its numbers
    reason = (
        "HR map collapsed: its contrast is 0.000 of the LR map's under the window (< min_hr_contrast 0.1); "
        "HR map 0.0 dB < min_snr_db 10"
    )
    assert components[1]["reason"] == reason
    assert f"component 1 dropped: {reason}" in capfd.readouterr().err


def test_the_selection_table_names_dropped_components_and_areas():
    scores = {"hr_lr_contrast": 0.8, "collapsed": False}
    keep = {"component": 0, "lr_snr_db": 20.0, "hr_snr_db": 18.0, "keep": True, "reason": "", **scores}
    drop = {
        "component": 1,
        "lr_snr_db": 2.0,
        "hr_snr_db": 18.0,
        "keep": False,
        "reason": "LR map 2.0 dB < min_snr_db 10",
        **scores,
    }
    blank = {
        "component": 0,
        "lr_snr_db": 20.0,
        "hr_snr_db": 0.0,
        "hr_lr_contrast": 0.004,
        "collapsed": True,
        "keep": False,
        "reason": "HR map collapsed: its contrast is 0.004 of the LR map's (< min_hr_contrast 0.1)",
    }
    table = selection_table(
        [("A", "1"), ("B", "2")],
        [{"components": [keep, drop]}, {"components": [blank]}],
        [{"confidence": 0.9}, {"confidence": 0.0}],
    )
    assert list(table["kept"]) == [True, False, False]
    assert list(table["registration_confidence"]) == [0.9, 0.9, 0.0]
    markdown = selection_markdown(table)
    assert "1 of 3 components kept, from 1 of 2 areas." in markdown
    assert "Areas left out of the dataset (no component kept): B/2." in markdown
    assert "LR map 2.0 dB < min_snr_db 10" in markdown and "HR map collapsed: its contrast is 0.004" in markdown
    assert "HR maps collapsed (contrast far below their LR map's, dropped): B/2 c0 (0.004)." in markdown


def test_a_specimen_whose_hr_maps_collapse_in_every_area_stops_the_run():
    def component(collapsed):
        return {
            "component": 0,
            "lr_snr_db": 20.0,
            "hr_snr_db": 12.0,
            "hr_lr_contrast": 0.01 if collapsed else 0.9,
            "collapsed": collapsed,
            "keep": not collapsed,
            "reason": "HR map collapsed" if collapsed else "",
        }

    areas = [("A", "1"), ("A", "2"), ("B", "1"), ("B", "2")]
    registrations = [{"confidence": 0.9}] * 4
    # one collapsed area of two: a named doubt, no error
    check_collapse(
        selection_table(areas, [{"components": [component(c)]} for c in (True, False, False, False)], registrations)
    )
    table = selection_table(areas, [{"components": [component(c)]} for c in (False, False, True, True)], registrations)
    with pytest.raises(
        ValueError, match=r"collapsed in every area of sample\(s\) B \(B/1 component 0: HR contrast 0.010"
    ):
        check_collapse(table)


# --- the decompose stage's checks ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lowres", "highres", "n_components", "message"),
    [
        ((1, 1, 40), (16, 16, 40), 3, r"data/A/1_20x.mat \(sample A, area 1\): a 1 x 1 scan is not a map"),
        ((8, 8, 40), (1, 16, 40), 3, r"data/A/1_50x.mat \(sample A, area 1\): a 1 x 16 scan is not a map"),
        ((8, 8, 40), (16, 16, 30), 3, r"1_20x.mat \(sample A, area 1\) has 40 channels but .*1_50x.mat .* has 30"),
        (
            (8, 8, 40),
            (16, 16, 40),
            41,
            r"decompose: n_components: 41 is more than .*1_20x.mat .*\(40 channels, 64 points\)",
        ),
        ((3, 3, 40), (16, 16, 40), 10, r"decompose: n_components: 10 is more than .*\(40 channels, 9 points\)"),
    ],
)
def test_impossible_pairs_are_refused_with_names_and_numbers(lowres, highres, n_components, message):
    with pytest.raises(ValueError, match=message):
        check_area_scans(cube(*lowres), cube(*highres, seed=1), n_components, 2, NAMES)


def test_too_many_pca_components_name_their_key():
    with pytest.raises(ValueError, match=r"decompose: pca_components: 50 is more than"):
        check_area_scans(cube(8, 8, 40), cube(16, 16, 40), 3, 50, NAMES)


@pytest.mark.parametrize("value", [0.0, 7.0])
def test_a_blank_scan_is_refused_before_nmf(tmp_path, value):
    blank = scale_channels(np.full((8, 8, 40), value, np.float32), clip_percentile=100.0)[0]
    lowres, highres = tmp_path / "lowres.npz", tmp_path / "highres.npz"
    save_npz(lowres, cube=blank, wavenumbers=np.arange(40.0))
    save_npz(highres, cube=cube(16, 16, 40), wavenumbers=np.arange(40.0))
    outputs = [tmp_path / name for name in ("nmf.npz", "pca.npz", "model.joblib")]
    with pytest.raises(ValueError, match=r"1_20x.mat \(sample A, area 1\): blank scan, no channel varies"):
        decompose_area_files(lowres, highres, *outputs, 3, 2, 0, 50, 1e-4, names=NAMES)
    assert not any(path.exists() for path in outputs)


def test_a_sound_pair_passes_the_checks():
    check_area_scans(cube(8, 8, 40), cube(16, 16, 40, seed=1), 3, 3, NAMES)


# --- the dataset's split ---------------------------------------------------------------------


def test_a_split_without_test_pairs_is_refused_naming_the_areas():
    table = pd.DataFrame({"sample": ["A", "A", "B"], "area": ["1", "1", "2"], "split": ["train", "train", "val"]})
    with pytest.raises(ValueError, match=r"the test split would be empty: 3 pairs from 2 area\(s\) \['A/1', 'B/2'\]"):
        check_split(table)
    check_split(table.assign(split=["train", "train", "test"]))
