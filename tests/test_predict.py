"""Prediction on a new LR scan: files, shapes, and the baseline's values."""

import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from ramansr.checkpoint import save_checkpoint
from ramansr.convention import INTENSITY_CONVENTION
from ramansr.io import Scan, ScanFormatError, read_scan, write_scan
from ramansr.io.table import write_table
from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA
from ramansr.prediction.cli import main
from ramansr.prediction.consistency import lowres_consistency
from ramansr.prediction.report import prediction_table
from ramansr.prediction.scan import predict_scan, reconstruct_cube, resolve_pipeline

ROWS, COLS, CHANNELS = 10, 12, 40


@pytest.fixture
def lowres_scan(tmp_path):
    """A small LR scan: three smooth abundance maps times three broad bands (signal in every channel), plus noise."""
    rng = np.random.default_rng(0)
    wavenumbers = np.linspace(400.0, 1800.0, CHANNELS)
    rows, cols = np.mgrid[0:ROWS, 0:COLS]
    abundances = np.stack([np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 12.0) for r, c in [(2, 3), (7, 8), (5, 1)]])
    bands = np.stack([np.exp(-(((wavenumbers - centre) / 300.0) ** 2)) for centre in (600.0, 1100.0, 1600.0)])
    cube = np.einsum("krc,kl->rcl", abundances, bands) * 1000.0 + 50.0 + rng.normal(0.0, 1.0, (ROWS, COLS, CHANNELS))
    path = tmp_path / "scan_lr.mat"
    write_scan(Scan(cube=cube, wavenumbers=wavenumbers, pixel_size_um=(2.0, 2.0), name="scan_lr"), path)
    return path


PIPELINE = {
    "offset": "estimate",
    "baseline": {"enabled": False, "method": "arpls", "settings": {"lam": 1e7}},
    "window_length": 7,
    "polyorder": 2,
    "despike": {"enabled": True, "threshold": 4.0},
    "clip_percentile": 99.9,
    "n_components": 3,
    "seed": 0,
    "max_iter": 400,
    "tol": 1e-4,
}


def checkpoint(
    tmp_path,
    model_name,
    model_kwargs=None,
    model_state=None,
    factor=4,
    pipeline=PIPELINE,
    convention=INTENSITY_CONVENTION,
    steps_um=None,
):
    """A checkpoint as train_model writes it (an untrained model is enough here)."""
    path = tmp_path / f"{model_name}.pt"
    save_checkpoint(
        {
            "model_name": model_name,
            "model_kwargs": {**(model_kwargs or {}), "scaling_factor": factor},
            "pipeline": pipeline,
            "model_state": model_state,
            "epoch": 0,
            "settings": {},
            "history": [],
            "intensity_convention": convention,
            "steps_um": steps_um,
        },
        path,
    )
    return path


def run(lowres_scan, checkpoint_path, tmp_path, overrides=None):
    outputs = {
        name: tmp_path / f"out{suffix}"
        for name, suffix in (("out_maps", "_maps.npz"), ("out_png", ".png"), ("out_mat", ".mat"))
    }
    result = predict_scan(lowres_scan, checkpoint_path, **outputs, overrides=overrides, device="cpu")
    return result, outputs


def test_linear_baseline_predicts_bilinear_upscaled_maps(lowres_scan, tmp_path):
    result, outputs = run(lowres_scan, checkpoint(tmp_path, "linear"), tmp_path)
    with np.load(outputs["out_maps"]) as maps:
        lowres_maps, predicted = maps["lowres_maps"], maps["predicted_maps"]
        saved_settings = json.loads(str(maps["settings"]))
    assert lowres_maps.shape == (3, ROWS, COLS) and predicted.shape == (3, 4 * ROWS, 4 * COLS)
    bilinear = F.interpolate(
        torch.from_numpy(lowres_maps)[:, None], scale_factor=4, mode="bilinear", align_corners=False
    )[:, 0].numpy()
    np.testing.assert_allclose(predicted, bilinear, atol=1e-6)
    assert saved_settings["settings"] == result["settings"] == PIPELINE
    assert result["model"] == "linear"
    assert outputs["out_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reconstructed_cube_is_4x_and_matches_the_scan(lowres_scan, tmp_path):
    result, _ = run(lowres_scan, checkpoint(tmp_path, "linear"), tmp_path)
    lowres, highres = read_scan(lowres_scan), read_scan(tmp_path / "out.mat")
    # the cube holds the Raman signal: the scan less the offset the chain estimated (its 50 counts and the
    # floor of its broad bands)
    assert result["offset"] >= 50.0
    lowres.cube -= np.float32(result["offset"])
    assert highres.cube.shape == (4 * ROWS, 4 * COLS, CHANNELS)
    np.testing.assert_allclose(highres.wavenumbers, lowres.wavenumbers)
    assert highres.pixel_size_um == pytest.approx((0.5, 0.5))
    # the HR cube, block-averaged back to the LR grid, is close to the (smoothed, NMF-denoised) LR scan
    pooled = highres.cube.reshape(ROWS, 4, COLS, 4, CHANNELS).mean(axis=(1, 3))
    relative_error = np.abs(pooled - lowres.cube).mean() / np.abs(lowres.cube).mean()
    assert relative_error < 0.05


def test_a_checkpoint_without_the_intensity_convention_is_refused(lowres_scan, tmp_path):
    old = checkpoint(tmp_path, "linear", convention=None)
    with pytest.raises(ValueError, match=r"linear.pt: trained on intensity convention None.*Retrain"):
        run(lowres_scan, old, tmp_path)
    assert not (tmp_path / "out.mat").exists()


def test_a_stale_checkpoint_is_refused_before_the_scan_is_read(tmp_path):
    """The checkpoint is read first and checked at once: no minutes of preprocessing and NMF before the error."""
    old = checkpoint(tmp_path, "linear", convention=None)
    outputs = [tmp_path / name for name in ("out_maps.npz", "out.png", "out.mat")]
    with pytest.raises(ValueError, match=r"linear.pt: trained on intensity convention None"):
        predict_scan(tmp_path / "no such scan.mat", old, *outputs)


def test_reconstruct_cube_undoes_both_scalings():
    rng = np.random.default_rng(1)
    maps, spectra = rng.random((2, 3, 4)), rng.random((2, 5))
    low, high = np.array([0.5, 1.0]), np.array([2.0, 4.0])
    data_min, data_max = rng.random(5), rng.random(5) + 2.0
    normalized = (maps - low[:, None, None]) / (high - low)[:, None, None]
    expected = np.einsum("krc,kl->rcl", maps, spectra) * (data_max - data_min) + data_min
    np.testing.assert_allclose(
        reconstruct_cube(normalized, low, high, spectra, data_min, data_max).whole(), expected, rtol=1e-5
    )


def test_command_line_with_a_tiny_srresnet(lowres_scan, tmp_path, capsys):
    from ramansr.models import build

    torch.manual_seed(0)
    kwargs = {"n_channels": 4, "n_blocks": 1}
    path = checkpoint(
        tmp_path,
        "srresnet",
        kwargs,
        build("srresnet", **kwargs, scaling_factor=4).state_dict(),
        pipeline={**PIPELINE, "n_components": 2},
    )
    assert (
        main(
            [
                str(lowres_scan),
                str(path),
                "--out-prefix",
                str(tmp_path / "cli"),
                "--n-components",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["model"] == "srresnet" and printed["highres_shape"] == [4 * ROWS, 4 * COLS, CHANNELS]
    with np.load(tmp_path / "cli_maps.npz") as maps:
        assert maps["predicted_maps"].shape == (2, 4 * ROWS, 4 * COLS)
        assert np.isfinite(maps["predicted_maps"]).all()
    assert (tmp_path / "cli.png").stat().st_size > 0
    assert read_scan(tmp_path / "cli.mat").cube.shape == (4 * ROWS, 4 * COLS, CHANNELS)


def test_prediction_uses_the_checkpoints_factor_and_settings(lowres_scan, tmp_path):
    result, outputs = run(
        lowres_scan, checkpoint(tmp_path, "bicubic", factor=3, pipeline={**PIPELINE, "n_components": 2}), tmp_path
    )
    assert result["factor"] == 3 and result["settings"]["n_components"] == 2
    highres = read_scan(outputs["out_mat"])
    assert highres.cube.shape == (3 * ROWS, 3 * COLS, CHANNELS)
    assert highres.pixel_size_um == pytest.approx((2.0 / 3, 2.0 / 3))


def test_an_override_that_contradicts_the_checkpoint_is_an_error(lowres_scan, tmp_path):
    path = checkpoint(tmp_path, "linear")
    with pytest.raises(ValueError, match="n_components: 4 given, 3 in the checkpoint"):
        run(lowres_scan, path, tmp_path, overrides={"n_components": 4})
    with pytest.raises(ValueError, match="window_length: 11 given, 7 in the checkpoint"):  # the command line too
        main([str(lowres_scan), str(path), "--out-prefix", str(tmp_path / "cli"), "--window-length", "11"])
    assert not (tmp_path / "cli.mat").exists()
    # repeating the stored value is fine
    assert resolve_pipeline({"model_name": "linear", "pipeline": PIPELINE}, {"n_components": 3}) == PIPELINE


def test_a_checkpoint_from_before_the_nmf_tolerance_setting_gets_the_tolerance_it_was_made_with():
    older = {key: value for key, value in PIPELINE.items() if key != "tol"}
    assert resolve_pipeline({"model_name": "linear", "pipeline": older})["tol"] == 1e-4
    with pytest.raises(ValueError, match=r"tol: 0\.001 given, 0\.0001 in the checkpoint"):
        resolve_pipeline({"model_name": "linear", "pipeline": older}, {"tol": 1e-3})


def test_a_checkpoint_from_before_offset_removal_uses_the_counts_as_recorded():
    older = {key: value for key, value in PIPELINE.items() if key not in ("offset", "baseline")}
    resolved = resolve_pipeline({"model_name": "linear", "pipeline": older})
    assert resolved["offset"] == "none" and not resolved["baseline"]["enabled"]


def test_a_checkpoint_without_settings_needs_them_all(tmp_path):
    with pytest.raises(ValueError, match=r"stores no processing settings; give .*despike"):
        resolve_pipeline({"model_name": "linear", "pipeline": None}, {"n_components": 3})


def test_a_headerless_table_export_predicts_with_its_grid_given(lowres_scan, tmp_path):
    table_path = tmp_path / "scan_lr.txt"
    write_table(read_scan(lowres_scan), table_path, header=False)
    model = checkpoint(tmp_path, "linear")
    _, mat_outputs = run(lowres_scan, model, tmp_path / "mat")
    with pytest.raises(ScanFormatError, match=r"scan_lr.txt: .*shape: 'rows x cols' of the scan under predict"):
        run(table_path, model, tmp_path / "table")
    outputs = {
        name: tmp_path / "table" / f"out{suffix}"
        for name, suffix in (("out_maps", "_maps.npz"), ("out_png", ".png"), ("out_mat", ".mat"))
    }
    predict_scan(table_path, model, **outputs, device="cpu", image_shape=f"{ROWS} x {COLS}")
    expected, found = np.load(mat_outputs["out_maps"]), np.load(outputs["out_maps"])
    np.testing.assert_allclose(found["predicted_maps"], expected["predicted_maps"], atol=1e-5)
    assert found["predicted_maps"].shape == (3, 4 * ROWS, 4 * COLS)
    with pytest.raises(ValueError, match=r"scan_lr.txt: image shape '10 by 12'"):
        predict_scan(table_path, model, **outputs, device="cpu", image_shape="10 by 12")


def test_every_prediction_checks_its_lr_consistency(lowres_scan, tmp_path):
    result, outputs = run(lowres_scan, checkpoint(tmp_path, "linear"), tmp_path)
    with np.load(outputs["out_maps"]) as maps:
        consistency, residual = maps["consistency_psnr"], maps["lowres_residual"]
        lowres_maps, predicted = maps["lowres_maps"], maps["predicted_maps"]
    assert residual.shape == (3, ROWS, COLS)
    np.testing.assert_allclose(result["consistency"]["psnr"], consistency)
    assert result["consistency"]["psf"] == "Airy" and result["consistency"]["data_range"] == 1.0
    # bilinear interpolation passes (nearly) through the LR points: consistent
    imaging = {"lowres_step_um": 2.0, "na": DEFAULT_LOWRES_NA, "wavelength_um": DEFAULT_EXCITATION_NM / 1e3}
    assert (consistency > 30.0).all()
    found, _ = lowres_consistency(predicted, lowres_maps, 4, **imaging)
    np.testing.assert_allclose(consistency, found)
    shifted, _ = lowres_consistency(np.roll(predicted, 4, axis=2), lowres_maps, 4, **imaging)
    assert (shifted < consistency - 5.0).all()


def test_predictions_far_below_the_test_areas_consistency_are_flagged():
    def check(consistency, true_psnr):
        scores = {"psnr": 20.0, "ssim": 0.5, "psnr_common": 21.0, "ssim_common": 0.6}
        spectral = {
            "channel_psnr": {"model": [20.0, 22.0], "linear": [18.0, 19.0]},
            "spectral_angle_deg": {"model": 3.0, "linear": 4.0},
        }
        return {
            "band": [2800.0, 3000.0],
            "model": scores,
            "linear": scores,
            "spectral": spectral,
            "maps": [
                {"component": k, "area_component": k, "consistency_psnr": c, "true_psnr": t}
                for k, (c, t) in enumerate(zip(consistency, true_psnr, strict=True))
            ],
        }

    checks = {("A", "1"): check([30.0, 34.0], [25.0, 29.0]), ("B", "2"): check([32.0, 36.0], [27.0, 31.0])}
    areas, maps, spearman = prediction_table(checks, {"cell_07": [28.0, 26.5]}, margin_db=3.0)
    assert spearman == pytest.approx(1.0)  # consistency ranks the test maps as their true error does
    assert areas["model_channel_psnr"].tolist() == [21.0, 21.0]
    assert areas["linear_spectral_angle_deg"].tolist() == [4.0, 4.0]
    assert maps.loc[maps["prediction"] == "cell_07", "flagged"].tolist() == [False, True]  # under 30 - 3 dB
    assert not maps.loc[maps["prediction"] != "cell_07", "flagged"].any()
    assert maps.loc[maps["prediction"] == "cell_07", "true_psnr"].isna().all()


TRAINED_ON_2_UM = {"lowres": [2.0, 2.0], "highres": [0.5, 0.5]}


def test_a_scan_of_another_pixel_size_than_the_model_was_trained_on_is_refused(lowres_scan, tmp_path):
    """A model trained on 2 -> 0.5 um pairs and a 1.5 um scan: refused naming both steps, unless allowed."""
    scan = read_scan(lowres_scan)
    scan.pixel_size_um = (1.5, 1.5)
    path = tmp_path / "scan_1p5um.mat"
    write_scan(scan, path)
    model = checkpoint(tmp_path, "linear", steps_um=TRAINED_ON_2_UM)
    outputs = [tmp_path / "m.npz", tmp_path / "m.png", tmp_path / "m.mat"]
    with pytest.raises(ValueError, match=r"scan_1p5um.mat: the scan's step 1.5 x 1.5 um is not the LR step .* \(2 um"):
        predict_scan(path, model, *outputs, device="cpu")
    assert not outputs[0].exists()
    assert main([str(path), str(model), "--out-prefix", str(tmp_path / "forced"), "--allow-step-mismatch"]) == 0
    assert read_scan(tmp_path / "forced.mat").cube.shape[:2] == (4 * ROWS, 4 * COLS)


def test_a_scan_within_the_step_tolerance_and_an_older_checkpoint_are_predicted(lowres_scan, tmp_path, capsys):
    scan = read_scan(lowres_scan)
    scan.pixel_size_um = (2.08, 2.08)  # 4 % off
    path = tmp_path / "scan_2p08um.mat"
    write_scan(scan, path)
    run(path, checkpoint(tmp_path, "linear", steps_um=TRAINED_ON_2_UM), tmp_path)
    assert "warning" not in capsys.readouterr().err
    run(path, checkpoint(tmp_path, "bicubic"), tmp_path)  # no steps recorded
    assert "the checkpoint records no training steps" in capsys.readouterr().err


CALIBRATION = {
    "level": 0.9,
    "weights": {"bootstrap": 1.0, "gradient": 0.5},
    "quantile": 2.0,
    "pixels": 100,
    "draws": 2,
    "noise_scale": 0.0,
}


def write_calibration(path, calibration=CALIBRATION):
    path.write_text(json.dumps(calibration))
    return path


def test_a_calibrated_prediction_carries_its_uncertainty_and_interval(lowres_scan, tmp_path, capsys):
    """maps.npz gets uncertainty, lower, upper and predicted_rmse: the quantile's interval, the consistency's optics."""
    import functools

    from ramansr.inference import load_model, super_resolve
    from ramansr.optics import reimage_lowres
    from ramansr.uncertainty.calibration import map_uncertainty

    path = checkpoint(tmp_path, "linear")
    outputs = {name: tmp_path / f"out{suffix}" for name, suffix in (("out_maps", ".npz"), ("out_png", ".png"))}
    result = predict_scan(
        lowres_scan,
        path,
        **outputs,
        out_mat=tmp_path / "out.mat",
        device="cpu",
        calibration=write_calibration(tmp_path / "calibration.json"),
        threshold_rmse=0.0,
    )
    with np.load(outputs["out_maps"]) as maps:
        arrays = {key: maps[key] for key in maps.files}
    predicted, u = arrays["predicted_maps"], arrays["uncertainty"]
    assert u.shape == arrays["lower"].shape == arrays["upper"].shape == predicted.shape == (3, 4 * ROWS, 4 * COLS)
    assert (u > 0).any() and (u >= 0).all()
    assert (arrays["lower"] <= predicted).all() and (predicted <= arrays["upper"]).all()
    # the calibration's quantile 2: intervals of exactly +- 2 u
    np.testing.assert_allclose(arrays["upper"] - arrays["lower"], 4.0 * u, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(arrays["predicted_rmse"], np.sqrt(np.mean(u.astype(float) ** 2, axis=(1, 2))))
    assert arrays["uncertainty_level"] == 0.9
    # the LR consistency's imaging: the scan's 2 um step, the default NA and wavelength
    reimage = functools.partial(
        reimage_lowres, factor=4, lowres_step_um=2.0, na=DEFAULT_LOWRES_NA, wavelength_um=DEFAULT_EXCITATION_NM / 1e3
    )
    model_sr = functools.partial(super_resolve, load_model(path, "cpu"))
    expected, _, _ = map_uncertainty(predicted, arrays["lowres_maps"], model_sr, reimage, CALIBRATION)
    np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-7)
    record = result["uncertainty"]
    np.testing.assert_allclose(record["predicted_rmse"], arrays["predicted_rmse"])
    assert record["level"] == 0.9 and record["flagged"] == [0, 1, 2]  # all above a threshold of 0
    log = capsys.readouterr().err
    assert "predicted RMSE per map" in log and "take the HR scan" in log
    assert outputs["out_png"].stat().st_size > 0


def test_without_a_calibration_the_command_line_predicts_without_uncertainty(lowres_scan, tmp_path, capsys):
    path = checkpoint(tmp_path, "linear")
    assert main([str(lowres_scan), str(path), "--out-prefix", str(tmp_path / "plain"), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["uncertainty"] is None
    assert "no calibration for the model: the prediction has no uncertainty" in captured.err
    with np.load(tmp_path / "plain_maps.npz") as maps:
        assert maps["predicted_maps"].shape == (3, 4 * ROWS, 4 * COLS)
        assert not {"uncertainty", "lower", "upper", "predicted_rmse"} & set(maps.files)
    # calibration.json beside the checkpoint is found; --no-uncertainty skips it
    write_calibration(tmp_path / "calibration.json")
    assert main([str(lowres_scan), str(path), "--out-prefix", str(tmp_path / "found"), "--device", "cpu"]) == 0
    assert len(json.loads(capsys.readouterr().out)["uncertainty"]["predicted_rmse"]) == 3
    with np.load(tmp_path / "found_maps.npz") as maps:
        assert maps["uncertainty"].shape == maps["predicted_maps"].shape
    argv = [str(lowres_scan), str(path), "--out-prefix", str(tmp_path / "skip"), "--device", "cpu", "--no-uncertainty"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["uncertainty"] is None


def test_a_map_whose_predicted_rmse_is_above_the_threshold_is_flagged():
    from ramansr.prediction.report import uncertainty_markdown

    check = {
        "band": [2800.0, 3000.0],
        "model": {"psnr": 20.0, "ssim": 0.5, "psnr_common": 21.0, "ssim_common": 0.6},
        "linear": {"psnr": 19.0, "ssim": 0.4, "psnr_common": 20.0, "ssim_common": 0.5},
        "spectral": {
            "channel_psnr": {"model": [20.0], "linear": [18.0]},
            "spectral_angle_deg": {"model": 3.0, "linear": 4.0},
        },
        "maps": [{"component": 0, "area_component": 0, "consistency_psnr": 30.0, "true_psnr": 20.0}],
    }
    predicted_rmse = {"test_area_A_1": [0.09], "cell_07": [0.02, 0.08]}
    _, maps, _ = prediction_table(
        {("A", "1"): check},
        {"cell_07": [31.0, 32.0]},
        margin_db=3.0,
        predicted_rmse=predicted_rmse,
        threshold_rmse=0.05,
    )
    assert maps["predicted_rmse"].tolist() == [0.09, 0.02, 0.08]
    assert maps["true_rmse"].iloc[0] == pytest.approx(0.1) and maps["true_rmse"].iloc[1:].isna().all()  # 20 dB
    assert maps["flagged_rmse"].tolist() == [True, False, True]
    markdown = uncertainty_markdown(maps, 0.05)
    assert "take the HR scan: test_area_A_1 component 0 (0.0900), cell_07 component 1 (0.0800)" in markdown
    assert "cell_07 component 0" not in markdown
    _, below, _ = prediction_table(
        {("A", "1"): check}, {"cell_07": [31.0, 32.0]}, margin_db=3.0, predicted_rmse=predicted_rmse, threshold_rmse=0.1
    )
    assert not below["flagged_rmse"].any()
    assert "No map's predicted RMSE is above 0.1." in uncertainty_markdown(below, 0.1)
    _, unset, _ = prediction_table({("A", "1"): check}, {}, margin_db=3.0, predicted_rmse=predicted_rmse)
    assert not unset["flagged_rmse"].any() and "no map is flagged" in uncertainty_markdown(unset, None)
