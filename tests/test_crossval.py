import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ramansr.crossval import (
    POOLED,
    cv_markdown,
    cv_summary,
    fold_overview,
    held_out_scores,
    plot_cv_gain,
    write_cv_outputs,
)
from ramansr.dataset import fold_split, write_fold_split


def pair_table(samples="ABC", areas=3, components=2):
    rows = [
        {"pair_id": f"{s}_{a}_c{c}", "sample": s, "area": str(a), "component": c, "X": 1.0, "Y": 2.0}
        for s in samples
        for a in range(1, areas + 1)
        for c in range(components)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("weights", [(40, 6, 8), (2, 1, 1), (1, 0, 1)])
def test_each_sample_is_held_out_exactly_once_and_only_in_its_own_fold(weights):
    table = pair_table("ABCD")
    tested = []
    for held_out in "ABCD":
        split = fold_split(table, held_out, weights=weights, seed=3)
        assert set(split) <= {"train", "val", "test"}
        is_held_out = table["sample"] == held_out
        # the held-out sample is all test, and nothing else is
        assert (split[is_held_out] == "test").all() and (split[~is_held_out] != "test").all()
        train_samples = set(table.loc[split == "train", "sample"])
        assert held_out not in train_samples and train_samples
        # val areas come from the other samples, whole areas on one side
        val = table[split == "val"]
        assert held_out not in set(val["sample"])
        assert (len(val) > 0) == (weights[1] > 0)
        sides = pd.DataFrame({"area": table["sample"] + table["area"], "split": split}).groupby("area")["split"]
        assert (sides.nunique() == 1).all()
        tested += sorted(set(table.loc[split == "test", "sample"]))
    assert sorted(tested) == list("ABCD")


def test_the_val_areas_take_the_val_share_and_are_seeded():
    table = pair_table("ABCDEFG", areas=4, components=3)
    split = fold_split(table, "D", weights=(40, 6, 8), seed=0)
    # 24 other areas at 40:6 -> 3.1 -> 3 areas of 3 maps
    assert (split == "val").sum() == 9
    pd.testing.assert_series_equal(split, fold_split(table, "D", weights=(40, 6, 8), seed=0))
    others = [tuple(fold_split(table, "D", weights=(40, 6, 8), seed=s) == "val") for s in range(4)]
    assert len(set(others)) > 1


@pytest.mark.parametrize(
    ("samples", "areas", "weights", "n_val_areas"),
    [("AB", 2, (40, 1, 8), 1), ("AB", 1, (2, 1, 1), 0), ("ABC", 1, (1, 10, 1), 1)],
)
def test_val_takes_at_least_one_area_and_never_all(samples, areas, weights, n_val_areas):
    table = pair_table(samples, areas=areas)
    split = fold_split(table, "A", weights=weights, seed=0)
    assert table.loc[split == "val", ["sample", "area"]].drop_duplicates().shape[0] == n_val_areas
    assert (split == "train").any()


def test_a_fold_of_an_unknown_sample_or_of_the_only_sample_is_refused(tmp_path):
    table = pair_table("AB")
    with pytest.raises(ValueError, match="'Z'"):
        fold_split(table, "Z", weights=(40, 6, 8), seed=0)
    path = tmp_path / "split.csv"
    pair_table("A").assign(split="train").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"fold 'A'.*train split would be empty"):
        write_fold_split(path, "A", tmp_path / "fold.csv", weights=(40, 6, 8), seed=0)
    assert not (tmp_path / "fold.csv").exists()


def test_write_fold_split_keeps_the_rows_and_columns(tmp_path):
    path = tmp_path / "split.csv"
    table = pair_table("AB", areas=2).assign(split="train")
    table.to_csv(path, index=False)
    write_fold_split(path, "B", tmp_path / "fold.csv", weights=(2, 1, 1), seed=0)
    fold = pd.read_csv(tmp_path / "fold.csv", dtype={"sample": str, "area": str})
    pd.testing.assert_frame_equal(fold.drop(columns="split"), table.drop(columns="split"), check_dtype=False)
    assert set(fold.loc[fold["split"] == "test", "sample"]) == {"B"}
    assert sorted(fold.loc[fold["sample"] == "A", "split"].unique()) == ["train", "val"]


def fold_scores(fold, n, rng, gains):
    """Per-image scores of the held-out maps of one fold: linear ~ N(25, 2), each model linear + its gain."""
    linear = rng.normal(25, 2, size=n)
    rows = []
    for model, gain in gains.items():
        for i in range(n):
            for metric_scale in ("common", "minmax"):
                rows.append(
                    {
                        "model": model,
                        "pair_id": f"{fold}_1_c{i}",
                        "sample": fold,
                        "area": "1",
                        "component": i,
                        "split": "test",
                        "reference": "measured",
                        "scale": metric_scale,
                        "psnr": linear[i] + gain,
                        "ssim": 0.8,
                        "fold": fold,
                    }
                )
    return pd.DataFrame(rows), linear


def test_cv_summary_gives_means_bootstrap_intervals_and_gains_on_known_data():
    rng = np.random.default_rng(0)
    scores_a, linear_a = fold_scores("A", 400, rng, {"linear": 0.0, "srcnn": 1.5})
    scores_b, linear_b = fold_scores("B", 100, rng, {"linear": 0.0, "srcnn": -0.5})
    summary = cv_summary(pd.concat([scores_a, scores_b], ignore_index=True))
    rows = summary[(summary["metric"] == "PSNR (dB)") & (summary["scale"] == "common")].set_index(["fold", "model"])
    a = rows.loc[("A", "linear")]
    assert a["held_out"] == "A" and a["n"] == 400
    assert a["mean"] == pytest.approx(linear_a.mean())
    # the percentile bootstrap of a mean of 400 normal values: about mean -+ 1.96 sd / sqrt(n)
    half_width = 1.96 * linear_a.std(ddof=1) / np.sqrt(400)
    assert a["ci_low"] == pytest.approx(a["mean"] - half_width, abs=0.05)
    assert a["ci_high"] == pytest.approx(a["mean"] + half_width, abs=0.05)
    # the gain is paired: a constant offset per map has no spread
    assert rows.loc[("A", "srcnn"), ["gain", "gain_ci_low", "gain_ci_high"]].tolist() == pytest.approx([1.5] * 3)
    assert rows.loc[("B", "srcnn"), "gain"] == pytest.approx(-0.5)
    assert rows.loc[("A", "linear"), "gain"] == 0
    pooled = rows.loc[(POOLED, "srcnn")]
    assert pooled["held_out"] == "A, B" and pooled["n"] == 500
    assert pooled["mean"] == pytest.approx(np.concatenate([linear_a + 1.5, linear_b - 0.5]).mean())
    assert pooled["gain"] == pytest.approx((400 * 1.5 - 100 * 0.5) / 500)
    assert pooled["ci_low"] < pooled["mean"] < pooled["ci_high"]
    # seeded: the same intervals every time
    again = cv_summary(pd.concat([scores_a, scores_b], ignore_index=True))
    pd.testing.assert_frame_equal(summary, again)


def test_cv_summary_needs_linear():
    scores, _ = fold_scores("A", 5, np.random.default_rng(0), {"srcnn": 1.0})
    with pytest.raises(ValueError, match="add linear to models"):
        cv_summary(scores)


def test_held_out_scores_refuse_a_fold_that_tests_another_sample(tmp_path):
    scores, _ = fold_scores("A", 3, np.random.default_rng(0), {"linear": 0.0})
    scores = scores.drop(columns="fold")
    scores.loc[0, "sample"] = "B"
    path = tmp_path / "linear.csv"
    scores.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"linear.csv.*fold 'A'.*\['A', 'B'\]"):
        held_out_scores(path, "A")


def test_cv_outputs_name_the_folds_and_draw_the_gain(tmp_path):
    rng = np.random.default_rng(1)
    metric_paths, metric_folds, split_paths = [], [], []
    for fold in "AF":
        scores, _ = fold_scores(fold, 6, rng, {"linear": 0.0, "bicubic": 0.7, "srcnn": 1.2})
        scores = scores.drop(columns="fold")
        for model, rows in scores.groupby("model"):
            path = tmp_path / f"{fold}_{model}.csv"
            rows.to_csv(path, index=False)
            metric_paths.append(path)
            metric_folds.append(fold)
        split_path = tmp_path / f"{fold}_split.csv"
        other = "F" if fold == "A" else "A"
        pd.DataFrame(
            {"sample": [fold, other, other], "area": ["1", "1", "2"], "split": ["test", "train", "val"]}
        ).to_csv(split_path, index=False)
        split_paths.append(split_path)
    outputs = {"csv": tmp_path / "cv.csv", "md": tmp_path / "cv.md", "figure": [tmp_path / "cv_gain.png"]}
    write_cv_outputs(metric_paths, metric_folds, split_paths, ["A", "F"], outputs)
    table = pd.read_csv(outputs["csv"], dtype={"fold": str})
    assert list(dict.fromkeys(table["fold"])) == ["A", "F", POOLED]
    assert set(table["model"]) == {"linear", "bicubic", "srcnn"}
    markdown = outputs["md"].read_text()
    assert "| A | 1 | F/1 | F/2 |" in markdown and "| F | 1 | A/1 | A/2 |" in markdown
    srcnn = table[(table["model"] == "srcnn") & (table["metric"] == "PSNR (dB)")]
    assert np.allclose(srcnn["gain"], 1.2)
    assert "; +1.20 |" in markdown and "| pooled | 12 |" in markdown
    assert outputs["figure"][0].read_bytes()[:4] == b"\x89PNG"


def test_fold_overview_and_markdown_say_none_without_val(tmp_path):
    path = tmp_path / "split.csv"
    pd.DataFrame({"sample": ["A", "B"], "area": ["1", "1"], "split": ["test", "train"]}).to_csv(path, index=False)
    overview = fold_overview([path], ["A"])
    assert overview.loc[0, "val_areas"] == "none" and overview.loc[0, "test_maps"] == 1
    scores, _ = fold_scores("A", 3, np.random.default_rng(0), {"linear": 0.0})
    markdown = cv_markdown(cv_summary(scores), overview)
    assert "| A | 1 | B/1 | none |" in markdown


def bar_pixels(png_path, colour=(0x1F, 0x77, 0xB4)):
    """How many pixels of a figure have the first model's bar colour (matplotlib's C0)."""
    image = (plt.imread(png_path)[..., :3] * 255).round().astype(int)
    return int(np.all(np.abs(image - np.array(colour)) <= 2, axis=-1).sum())


def test_plot_cv_gain_with_only_linear_draws_an_empty_panel(tmp_path):
    rng = np.random.default_rng(0)
    scores, _ = fold_scores("A", 3, rng, {"linear": 0.0})
    plot_cv_gain(cv_summary(scores), [tmp_path / "empty.png"])
    with_model, _ = fold_scores("A", 3, rng, {"linear": 0.0, "srcnn": 1.0})
    plot_cv_gain(cv_summary(with_model), [tmp_path / "srcnn.png"])
    # the panels are drawn (axes, zero line) but hold no bar; with a model they do
    assert bar_pixels(tmp_path / "empty.png") == 0
    assert bar_pixels(tmp_path / "srcnn.png") > 500
