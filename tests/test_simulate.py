"""Behaviour of the paired LR/HR Raman scan simulator (ramansr.simulate)."""

from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
import yaml
from scipy import ndimage

from ramansr import simulate
from ramansr.io import read_scan
from ramansr.simulate.acquisition import collection_efficiency, draw_window, sampled_abundances
from ramansr.simulate.specimen import add_heterogeneity, sample_morphology, specimen_abundance
from ramansr.simulate.spectra import spectrometer_axis
from ramansr.truth import clean_cube, read_truth, write_truth

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "simulation.schema.yaml"


def small_settings(**overrides):
    """Paper physics on a small field: 24 x 24 points, 96 channels."""
    settings = {"lowres": {"points": 24}, "highres": {"points": 24}, "channels": 96}
    settings.update(overrides)
    return simulate.resolve_settings(settings)


@pytest.fixture(scope="module")
def paper_spectra_area():
    """Small field, but the real 954-channel spectrometer axis."""
    return simulate.simulate_area(small_settings(channels=954), "C", 1)


def band_max_at(wavenumbers, spectrum, low, high):
    inside = (wavenumbers >= low) & (wavenumbers <= high)
    return wavenumbers[inside][np.argmax(spectrum[inside])]


def test_spectrometer_axis_is_linear_in_wavelength():
    wavenumbers = spectrometer_axis(954, (100.0, 3800.0), 488.0)
    stokes_nm = 1e7 / (1e7 / 488.0 - wavenumbers)
    assert wavenumbers[0] == pytest.approx(100.0) and wavenumbers[-1] == pytest.approx(3800.0)
    np.testing.assert_allclose(np.diff(stokes_nm), np.diff(stokes_nm)[0], rtol=1e-9)
    spacing = np.diff(wavenumbers)
    # equal wavelength steps are wider in wavenumber at the blue end
    assert spacing[0] > 1.4 * spacing[-1] and np.all(spacing > 0)


def test_mean_lowres_spectrum_shows_ch_and_oh_bands(paper_spectra_area):
    lowres, _, truth = paper_spectra_area
    # over the detector's offset, as a Raman microscopist reads a spectrum
    wavenumbers, mean = lowres.wavenumbers, lowres.cube.mean(axis=(0, 1)) - truth["lowres_offset"]
    assert 2840 <= band_max_at(wavenumbers, mean, 2700, 3100) <= 2940
    assert 3180 <= band_max_at(wavenumbers, mean, 3100, 3700) <= 3480
    silent = mean[(wavenumbers > 1900) & (wavenumbers < 2600)].mean()
    ch_peak = mean[(wavenumbers > 2800) & (wavenumbers < 3000)].max()
    oh_peak = mean[(wavenumbers > 3150) & (wavenumbers < 3500)].max()
    assert ch_peak > 10 * silent and oh_peak > 5 * silent


def test_polymer_fingerprint_only_in_polymer_rich_phase(paper_spectra_area):
    _, _, truth = paper_spectra_area
    spectra = dict(zip(truth["phase_names"], truth["spectra"], strict=True))
    ring = np.argmin(np.abs(truth["wavenumbers"] - 1000.0))
    assert spectra["polymer-rich"][ring] > 2 * spectra["water-rich"][ring]


def test_highres_cells_correlate_with_lowres_at_truth_offset():
    lr_step = 2.0
    for sample in ("A", "F"):
        _, _, truth = simulate.simulate_area(small_settings(), sample, 3)
        hr_positions, hr_abundance = truth["highres_positions_um"], truth["highres_abundance"]
        lr_abundance = truth["lowres_abundance"]
        averaged, sampled = [], []
        for (row, col), _ in np.ndenumerate(lr_abundance[0]):
            # HR points within the 2 um cell around this LR point (truth geometry)
            cell = (np.abs(hr_positions[..., 0] - col * lr_step) < lr_step / 2) & (
                np.abs(hr_positions[..., 1] - row * lr_step) < lr_step / 2
            )
            if cell.sum() >= 14:
                averaged.append(hr_abundance[:, cell].mean(axis=1))
                sampled.append(lr_abundance[:, row, col])
        assert len(averaged) >= 16
        correlation = np.corrcoef(np.ravel(averaged), np.ravel(sampled))[0, 1]
        assert correlation > 0.9, (sample, correlation)


def test_truth_position_is_where_template_matching_finds_the_window():
    settings = small_settings(lowres={"points": 40}, highres={"points": 40}, rotation_deg_max=0.0)
    _, _, truth = simulate.simulate_area(settings, "F", 2)
    lowres, highres = truth["lowres_abundance"][-1], truth["highres_abundance"][-1]
    # upscaled pixel j is LR point j / 4
    grid = np.arange(4 * (lowres.shape[0] - 1) + 1) / 4.0
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    upscaled = ndimage.map_coordinates(lowres, [rows, cols], order=1).astype(np.float32)
    scores = cv2.matchTemplate(upscaled, highres.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    found_y, found_x = np.unravel_index(np.argmax(scores), scores.shape)
    assert np.hypot(found_x - truth["position"][0], found_y - truth["position"][1]) <= 2.0
    np.testing.assert_allclose(truth["position"], truth["offset_um"] / 0.5)


def test_non_square_scans_at_factor_3():
    settings = small_settings(
        lowres={"points": 30, "lines": 20, "step_um": 1.5},
        highres={"points": 40, "lines": 24, "step_um": 0.5},
        rotation_deg_max=0.0,
    )
    lowres, highres, truth = simulate.simulate_area(settings, "F", 2)
    assert lowres.cube.shape[:2] == (20, 30) and highres.cube.shape[:2] == (24, 40)
    assert highres.pixel_size_um == (0.5, 0.5) and simulate.sr_factor(simulate.resolve_settings(settings)) == 3
    np.testing.assert_allclose(truth["position"], truth["offset_um"] / 0.5)
    # the window lies inside the LR field along both axes
    assert 0 <= truth["offset_um"][0] <= 29 * 1.5 - 39 * 0.5 and 0 <= truth["offset_um"][1] <= 19 * 1.5 - 23 * 0.5
    lr_map, hr_map = truth["lowres_abundance"][-1], truth["highres_abundance"][-1]
    grid_y, grid_x = (np.arange(3 * (n - 1) + 1) / 3.0 for n in lr_map.shape)
    rows, cols = np.meshgrid(grid_y, grid_x, indexing="ij")
    upscaled = ndimage.map_coordinates(lr_map, [rows, cols], order=1).astype(np.float32)
    scores = cv2.matchTemplate(upscaled, hr_map.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    found_y, found_x = np.unravel_index(np.argmax(scores), scores.shape)
    assert np.hypot(found_x - truth["position"][0], found_y - truth["position"][1]) <= 2.0


def test_noise_in_flat_region_matches_configured_snr():
    # zero phase contrast and no drift: a chemically flat specimen, evenly lit
    flat = {"contrast": 0.0, "contrast_gain": 0.0}
    settings = small_settings(lowres={"points": 48}, snr=15.0, read_noise=8.0, drift=0.0, morphology=flat)
    lowres, highres, truth = simulate.simulate_area(settings, "D", 1)
    channel = truth["snr_channel"]
    assert 2800 <= truth["wavenumbers"][channel] <= 3000
    for scan, which, expected in ((lowres, "lowres", 15.0), (highres, "highres", truth["snr_highres"])):
        peak = scan.cube[..., channel] - truth[f"{which}_offset"]
        # an experimentalist's measurement: mean over std of the CH peak
        assert peak.mean() / peak.std() == pytest.approx(expected, rel=0.1)
    assert truth["snr_lowres"] == pytest.approx(15.0, rel=1e-6)
    assert truth["snr_highres"] > 15.0


def test_highres_collects_more_light_than_lowres():
    _, _, truth = simulate.simulate_area(small_settings(), "B", 1)
    expected = collection_efficiency(0.8) / collection_efficiency(0.5)
    assert truth["highres_scale"] / truth["lowres_scale"] == pytest.approx(expected)
    assert expected > 2.5


def interface_domain_size_um(abundance, step_um):
    """Field area over the length of phase boundaries (majority-phase map)."""
    labels = np.argmax(abundance, axis=0)
    crossings = np.count_nonzero(np.diff(labels, axis=0)) + np.count_nonzero(np.diff(labels, axis=1))
    # pixel-edge counting overestimates an isotropic boundary's length by 4/pi
    return labels.size * step_um / (crossings * np.pi / 4)


def test_domain_size_grows_with_polymer_fraction():
    settings = simulate.default_settings()
    sizes = []
    for sample in settings["samples"]:
        rng = np.random.default_rng(simulate.area_seed_sequence(settings["seed"], sample, 1))
        abundance, _ = specimen_abundance(settings, sample, (800, 800), rng)
        sizes.append(interface_domain_size_um(abundance, settings["fine_step_um"]))
    fractions = [settings["polymer_fraction"][s] for s in settings["samples"]]
    assert np.all(np.diff(fractions) > 0)
    assert np.all(np.diff(sizes) > 0), sizes


def test_phase_contrast_grows_with_polymer_fraction():
    settings = simulate.default_settings()
    contrast = [sample_morphology(settings, s)["contrast"] for s in settings["samples"]]
    assert np.all(np.diff(contrast) > 0)


def test_abundances_are_fractions(paper_spectra_area):
    _, _, truth = paper_spectra_area
    for which in ("lowres", "highres"):
        abundance = truth[f"{which}_abundance"]
        assert abundance.min() >= 0.0
        np.testing.assert_allclose(abundance.sum(axis=0), 1.0, atol=1e-3)


def test_two_phase_specimen():
    settings = small_settings(phases=["surfactant-rich", "water-rich"], polymer_fraction={"G": 0.1}, samples=["G"])
    lowres, _, truth = simulate.simulate_area(settings, "G", 1)
    assert truth["lowres_abundance"].shape == (2, 24, 24) and truth["spectra"].shape == (2, 96)
    np.testing.assert_allclose(truth["area_fractions"], [0.25, 0.75])
    assert lowres.cube.shape == (24, 24, 96)


def test_window_geometry_stays_within_limits():
    settings = small_settings()
    field = 23 * 2.0
    for area in range(1, 9):
        _, _, truth = simulate.simulate_area(settings, "E", area)
        corners = truth["highres_positions_um"][[0, 0, -1, -1], [0, -1, -1, 0]]
        assert corners.min() >= 0.0 and corners.max() <= field
        assert abs(truth["rotation_deg"]) <= settings["rotation_deg_max"]
        # placement error: a few um, kept as truth next to the nominal position
        assert np.all(np.abs(truth["offset_um"] - truth["nominal_offset_um"]) < 4 * settings["placement_error_um"])
        assert not np.allclose(truth["offset_um"] % 2.0, 0.0)


def write_twice(folder, settings, sample, area):
    """Write one area into two sub-folders; return the two path triples."""
    runs = []
    for run in ("first", "second"):
        paths = [folder / run / name for name in ("lr.mat", "hr.mat", "truth.npz")]
        paths[0].parent.mkdir()
        simulate.write_area(settings, sample, area, *paths)
        runs.append(paths)
    return runs


def test_written_scans_read_back_with_paper_layout(tmp_path):
    settings = small_settings()
    paths = [tmp_path / name for name in ("lr.mat", "hr.mat", "truth.npz")]
    simulate.write_area(settings, "A", 2, *paths)
    lowres, highres = read_scan(paths[0]), read_scan(paths[1])
    assert lowres.cube.shape == (24, 24, 96) and highres.cube.shape == (24, 24, 96)
    assert lowres.cube.dtype == np.float32
    assert lowres.pixel_size_um == pytest.approx((2.0, 2.0))
    assert highres.pixel_size_um == pytest.approx((0.5, 0.5))
    assert lowres.meta["format"] == "witec" and lowres.meta["date"] == simulate.ACQUISITION_DATE
    truth = read_truth(paths[2])
    expected_lowres, _, _ = simulate.simulate_area(settings, "A", 2)
    np.testing.assert_array_equal(lowres.cube, expected_lowres.cube)
    np.testing.assert_array_equal(lowres.wavenumbers, truth["wavenumbers"])
    assert truth["phase_names"] == settings["phases"]


def test_same_seed_gives_identical_files(tmp_path):
    first, second = write_twice(tmp_path, small_settings(), "A", 2)
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name
    other_area = tmp_path / "other.npz"
    write_truth(simulate.simulate_area(small_settings(), "A", 3)[2], other_area)
    assert other_area.read_bytes() != first[2].read_bytes()


def test_clean_cube_is_the_expectation_of_the_scan(tmp_path):
    settings = small_settings(lowres={"points": 32})
    lowres, _, truth = simulate.simulate_area(settings, "C", 4)
    write_truth(truth, tmp_path / "truth.npz")
    clean = clean_cube(read_truth(tmp_path / "truth.npz"), "lowres")
    np.testing.assert_array_equal(clean, clean_cube(truth, "lowres"))
    residual = lowres.cube - clean - truth["lowres_offset"]
    # over the detector's offset, shot + read noise: zero mean, variance = signal + read_noise**2
    z = residual / np.sqrt(clean + settings["read_noise"] ** 2)
    assert abs(z.mean()) < 0.01 and z.std() == pytest.approx(1.0, abs=0.03)


def test_drift_is_slow_and_of_configured_size():
    settings = small_settings(lowres={"points": 48}, drift=0.05)
    _, _, truth = simulate.simulate_area(settings, "B", 1)
    drift = truth["lowres_drift"].ravel()
    assert drift.std() == pytest.approx(0.05, rel=0.05)
    # slow: neighbouring points along a line differ far less than the drift itself
    assert np.abs(np.diff(drift)).max() < 0.2 * drift.std()


def test_spikes_fluorescence_and_the_offset_are_switches():
    ideal = small_settings(baseline={"enabled": False}, offset={"enabled": False})
    quiet_lowres, _, quiet = simulate.simulate_area(ideal, "F", 1)
    assert len(quiet["lowres_spikes"]) == 0 and not quiet["baseline_spectra"].any()
    assert quiet["lowres_offset"] == quiet["highres_offset"] == 0.0
    # the ideal detector's scan is the realistic one's less its offset, where the fluorescence is off too
    no_fluorescence, _, with_offset = simulate.simulate_area(small_settings(baseline={"enabled": False}), "F", 1)
    np.testing.assert_allclose(no_fluorescence.cube - with_offset["lowres_offset"], quiet_lowres.cube, atol=1e-3)
    settings = small_settings(spikes={"enabled": True, "rate": 0.05})
    lowres, _, truth = simulate.simulate_area(settings, "F", 1)
    spikes = truth["lowres_spikes"]
    assert len(spikes) > 5
    clean = clean_cube(truth, "lowres")
    residual = lowres.cube - clean - truth["lowres_offset"]
    row, col, channel = spikes[0, :3].astype(int)
    assert residual[row, col, channel] > 10 * np.sqrt(settings["read_noise"] ** 2 + clean.mean())
    # the fluorescence peaks just red of the laser: under the fingerprint
    fingerprint = (truth["wavenumbers"] > 600) & (truth["wavenumbers"] < 1000)
    clean_with = clean_cube(truth, "lowres")[..., fingerprint].mean() / truth["lowres_scale"]
    clean_without = clean_cube(quiet, "lowres")[..., fingerprint].mean() / quiet["lowres_scale"]
    assert clean_with > 2 * clean_without


def test_seed_changes_the_data_and_settings_travel_with_the_truth():
    first = simulate.simulate_area(small_settings(seed=1), "A", 1)
    second = simulate.simulate_area(small_settings(seed=2), "A", 1)
    assert not np.array_equal(first[0].cube, second[0].cube)
    assert '"seed": 1' in first[2]["settings"]


def test_unknown_sample_is_refused():
    with pytest.raises(KeyError, match="polymer_fraction"):
        simulate.simulate_area(small_settings(), "Z", 1)


def schema_keys(schema):
    """The keys a schema describes, nested like the settings; refuses a default (they live in the settings module)."""
    assert "default" not in schema
    if schema.get("type") == "object" and "properties" in schema:
        return {key: schema_keys(sub) for key, sub in schema["properties"].items()}
    return None


def assert_same_keys(settings, keys):
    assert set(settings) == set(keys)
    for key, sub in keys.items():
        if sub is not None:
            assert_same_keys(settings[key], sub)


def test_the_schema_checks_every_default_setting_and_repeats_none():
    """One source: the defaults are written in ramansr.simulate.settings, the schema describes each key."""
    schema = yaml.safe_load(SCHEMA.read_text())
    defaults = simulate.default_settings()
    jsonschema.validate(defaults, schema)
    assert_same_keys(defaults, schema_keys(schema))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "unknown": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "rotation_deg_max": 5.0}, schema)


def test_overview_figure(tmp_path):
    paths = [tmp_path / name for name in ("lr.mat", "hr.mat", "truth.npz")]
    simulate.write_area(small_settings(), "D", 1, *paths)
    simulate.plot_overview(*paths, tmp_path / "overview.png")
    image = cv2.imread(str(tmp_path / "overview.png"))
    assert image.shape[1] > 2 * image.shape[0]
    assert image.std() > 20  # images and curves, not a blank canvas


def test_heterogeneity_is_inert_when_off():
    """Off (the default), its other settings change nothing: the homogeneous data keep their bytes."""
    base = simulate.simulate_area(small_settings(), "B", 1)
    other = simulate.simulate_area(
        small_settings(heterogeneity={"enabled": False, "inclusions": 7, "gradient": 0.1}), "B", 1
    )
    np.testing.assert_array_equal(base[0].cube, other[0].cube)
    np.testing.assert_array_equal(base[1].cube, other[1].cube)


def test_heterogeneous_windows_differ_from_their_field():
    """Structure larger than the window: at the paper's geometry the HR window's abundance range
    departs from the LR field's (on the homogeneous specimens every window spans the field's range);
    the abundances stay fractions."""

    def range_departure(heterogeneity, sample, area):
        settings = simulate.resolve_settings({"heterogeneity": heterogeneity})
        specimen_seq, window_seq, _, _ = simulate.area_seed_sequence(settings["seed"], sample, area).spawn(4)
        window = draw_window(settings, np.random.default_rng(window_seq))
        lowres, highres, _, _ = sampled_abundances(settings, sample, window, np.random.default_rng(specimen_seq))
        assert np.all(highres >= 0) and np.allclose(highres.sum(axis=0), 1.0, atol=0.02)
        low = np.abs(highres.min(axis=(1, 2)) - lowres.min(axis=(1, 2)))
        high = np.abs(highres.max(axis=(1, 2)) - lowres.max(axis=(1, 2)))
        return (low + high).max()

    areas = (("A", 1), ("C", 1), ("F", 1))
    assert max(range_departure({"enabled": False}, *area) for area in areas) < 0.05
    assert min(range_departure({"enabled": True}, *area) for area in areas) > 0.1


def test_heterogeneity_keeps_fractions_and_pulls_towards_one_phase():
    rng = np.random.default_rng(0)
    abundance = rng.dirichlet(np.ones(3), size=(40, 40)).transpose(2, 0, 1)
    settings = {
        "inclusions": 1,
        "inclusion_radius_um": [4.0, 4.0],
        "inclusion_edge_um": 0.5,
        "inclusion_weight": 0.9,
        "gradient": 0.0,
    }
    mixed = add_heterogeneity(abundance, settings, 0.25, np.random.default_rng(1))
    np.testing.assert_allclose(mixed.sum(axis=0), 1.0)
    changed = np.abs(mixed - abundance).max(axis=0) > 0.3
    # a disc of radius 4 um = 16 px: about pi 16^2 pixels (less where it leaves the grid)
    assert 150 < changed.sum() < np.pi * 17**2
    phase = np.argmax(mixed[:, changed].mean(axis=1))
    assert np.median(mixed[phase, changed]) > 0.85
