"""End to end: the leave-one-sample-out cross-validation on top of the finished .test run (2 samples, 2 folds)."""

import json

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_the_cross_validation_reuses_the_run_and_adds_only_its_own_jobs(cv_test_run):
    _, planned = cv_test_run
    assert planned == {"cv_split", "cv_train", "cv_evaluate", "cv_tables", "cv_uncertainty", "cv_uncertainty_table"}


def test_each_fold_tests_on_its_held_out_sample_only(cv_test_run):
    workdir, _ = cv_test_run
    run_split = pd.read_csv(workdir / "results/dataset/split.csv", dtype={"sample": str, "area": str})
    for fold in ("A", "F"):
        split = pd.read_csv(workdir / f"results/cv/{fold}/split.csv", dtype={"sample": str, "area": str})
        pd.testing.assert_frame_equal(split.drop(columns="split"), run_split.drop(columns="split"))
        held_out = split["sample"] == fold
        assert (split.loc[held_out, "split"] == "test").all() and held_out.any()
        others = split[~held_out]
        # the other samples' areas train, and validate when there are two or more (whole areas)
        assert "train" in set(others["split"]) and set(others["split"]) <= {"train", "val"}
        assert ("val" in set(others["split"])) == (others[["sample", "area"]].drop_duplicates().shape[0] >= 2)
        assert (others.groupby(["sample", "area"])["split"].nunique() == 1).all()
        metrics = pd.read_csv(workdir / f"results/cv/{fold}/metrics/srcnn.csv", dtype={"sample": str})
        assert set(metrics.loc[metrics["split"] == "test", "sample"]) == {fold}


def test_the_cv_table_has_both_folds_and_plausible_scores(cv_test_run):
    workdir, _ = cv_test_run
    table = pd.read_csv(workdir / "results/tables/cv.csv", dtype={"fold": str, "held_out": str})
    assert list(dict.fromkeys(table["fold"])) == ["A", "F", "pooled"]
    assert set(table.loc[table["fold"] != "pooled", "held_out"]) == {"A", "F"}
    assert set(table.loc[table["fold"] == "pooled", "held_out"]) == {"A, F"}
    assert set(table["model"]) == {"linear", "bicubic", "srcnn"}
    assert set(table["reference"]) == {"measured", "clean"} and set(table["scale"]) == {"common", "minmax"}
    assert np.isfinite(table[["mean", "ci_low", "ci_high", "gain"]]).all(axis=None)
    # interpolation of a 4x coarser map: far from perfect, far from random (2 epochs train no network to speak of)
    baselines = table[table["model"].isin(["linear", "bicubic"])]
    assert baselines.loc[baselines["metric"] == "PSNR (dB)", "mean"].between(10, 45).all()
    assert baselines.loc[baselines["metric"] == "SSIM", "mean"].between(0.2, 1).all()
    assert table.loc[table["metric"] == "SSIM", "mean"].between(-1, 1).all()
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert (table.loc[table["model"] == "linear", "gain"] == 0).all()
    n = table[(table["model"] == "linear") & (table["metric"] == "SSIM")].groupby("fold")["n"].max()
    assert n["pooled"] == n["A"] + n["F"] and n["A"] > 0 and n["F"] > 0
    markdown = (workdir / "results/tables/cv.md").read_text()
    assert "| A |" in markdown and "| F |" in markdown and "| pooled |" in markdown
    assert (workdir / "results/figures/cv_gain.png").read_bytes()[:4] == b"\x89PNG"


def summary_rows(markdown: str) -> pd.DataFrame:
    """The first table of an uncertainty Markdown (the summary: one row per fold and model)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    header, _, *body = rows
    return pd.DataFrame(body, columns=header)


def test_the_cv_uncertainty_table_scores_each_folds_held_out_maps(cv_test_run):
    workdir, _ = cv_test_run
    table = pd.read_csv(workdir / "results/tables/cv_uncertainty.csv", dtype={"fold": str, "sample": str})
    assert set(table["fold"]) == {"A", "F"} and (table["sample"] == table["fold"]).all()
    assert set(table["model"]) == {"linear", "bicubic", "srcnn"} and (table["true_rmse"] > 0).all()
    summary = summary_rows((workdir / "results/tables/cv_uncertainty.md").read_text())
    assert summary.columns[:4].tolist() == ["held-out sample", "model", "maps", "Spearman (predicted, true RMSE)"]
    summary = summary.set_index(["held-out sample", "model"])
    assert sorted(summary.index) == [(fold, model) for fold in ("A", "F") for model in ("bicubic", "linear", "srcnn")]
    window_pixels = np.prod(np.load(workdir / "results/dataset/pairs.npz")["highres"].shape[1:])
    for fold in ("A", "F"):
        split = pd.read_csv(workdir / f"results/cv/{fold}/split.csv", dtype={"sample": str, "area": str})
        for model in ("linear", "bicubic", "srcnn"):
            calibration = json.loads((workdir / f"results/cv/{fold}/models/{model}/calibration.json").read_text())
            # calibrated on the fold's train and val areas (the other sample's): in .test the selection keeps
            # one of F's two areas, so fold A has no val area, and the train areas are all it has
            assert calibration["calibrated_on"] == ["train", "val"], (fold, model)
            assert calibration["pixels"] == split["split"].isin(["train", "val"]).sum() * window_pixels > 0
            scored = table[(table["fold"] == fold) & (table["model"] == model)]
            # every held-out test map of the fold, once: the per-fold scores, concatenated
            assert sorted(scored["pair_id"]) == sorted(split.loc[split["split"] == "test", "pair_id"]), (fold, model)
            per_fold = pd.read_csv(workdir / f"results/cv/{fold}/uncertainty/{model}.csv", dtype={"sample": str})
            np.testing.assert_allclose(scored["true_rmse"], per_fold["true_rmse"], rtol=1e-9)
            row = summary.loc[(fold, model)]
            assert int(row["maps"]) == len(scored) > 2
            assert (scored["predicted_rmse"] > 0).all() and scored["coverage_90"].between(0, 1).all()
            # a rank correlation of the fold's maps: 2 epochs train no network, so no bound on its sign
            assert -1 <= float(row["Spearman (predicted, true RMSE)"]) <= 1, (fold, model)
            assert float(row["mean coverage"]) == pytest.approx(scored["coverage_90"].mean(), abs=5e-4)
