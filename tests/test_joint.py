"""The joint models: one network on all of an area's component maps, trained, scored and predicting per map."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import gaussian_filter
from test_predict import PIPELINE, lowres_scan, run  # noqa: F401 (lowres_scan: a fixture)

from ramansr.bands import component_channels
from ramansr.checkpoint import checkpoint_joint_maps, save_checkpoint
from ramansr.convention import INTENSITY_CONVENTION
from ramansr.inference import load_model, super_resolve, super_resolve_pairs
from ramansr.metrics import SCALES, evaluate_model_file
from ramansr.models import build
from ramansr.pairs import load_pairs, make_batch
from ramansr.train import resolve_settings, train_model
from ramansr.trainer import TrainingRun, masked_mse

N_MAPS, FACTOR, LOWRES, WINDOW = 3, 4, 10, 16
TINY_SRCNN = {"n_channels": [8, 4]}
SPLITS = ["train"] * 4 + ["val", "test"]
DROPPED = ("s", "a1", 1)  # selection dropped component 1 of area a1


def complementary_maps(field):
    """Three maps of one field, as phases are: rich, poor (1 - rich), and the boundary between them."""
    return np.stack([field, 1 - field, 4 * field * (1 - field)])


def write_area_pairs(folder, n_areas=6, seed=0):
    """pairs.npz and split.csv of ``n_areas`` areas x 3 components, one component dropped in area a1.

    Every area's HR field is a smooth random field; its component maps are :func:`complementary_maps`;
    an LR map is the HR map's 4 x 4 block mean, an HR window a piece of it at the area's (X, Y).
    """
    rng = np.random.default_rng(seed)
    lowres, highres, positions, rows = [], [], [], []
    for area in range(n_areas):
        field = gaussian_filter(rng.random((FACTOR * LOWRES, FACTOR * LOWRES)), 3)
        field = (field - field.min()) / (field.max() - field.min())
        x, y = (int(value) for value in rng.integers(0, FACTOR * LOWRES - WINDOW, 2))
        for component, hr_map in enumerate(complementary_maps(field)):
            if ("s", f"a{area}", component) == DROPPED:
                continue
            lowres.append(hr_map.reshape(LOWRES, FACTOR, LOWRES, FACTOR).mean(axis=(1, 3)))
            highres.append(hr_map[y : y + WINDOW, x : x + WINDOW])
            positions.append((x, y))
            rows.append(
                {
                    "pair_id": f"s_a{area}_c{component}",
                    "sample": "s",
                    "area": f"a{area}",
                    "component": component,
                    "X": x,
                    "Y": y,
                    "split": SPLITS[area],
                }
            )
    table = pd.DataFrame(rows)
    np.savez(
        folder / "pairs.npz",
        lowres=np.array(lowres, np.float32),
        highres=np.array(highres, np.float32),
        position=np.array(positions, np.float32),
        pair_id=table["pair_id"].to_numpy(str),
        factor=np.array(FACTOR),
        intensity_convention=INTENSITY_CONVENTION,
    )
    table.to_csv(folder / "split.csv", index=False)
    return folder / "pairs.npz", folder / "split.csv"


def joint_settings(**overrides):
    settings = {
        "epochs": 2,
        "batch_size": 2,
        "val_every": 1,
        "checkpoint_every": 1,
        "seed": 1,
        "learning_rate": 1e-3,
        "mode": "crop",
        "margin": 2,
        "augment": True,
        "model": TINY_SRCNN,
    }
    return {**settings, **overrides}


@pytest.fixture(scope="module")
def area_pairs(tmp_path_factory):
    return write_area_pairs(tmp_path_factory.mktemp("area_pairs"))


@pytest.fixture(scope="module")
def trained_joint(area_pairs, tmp_path_factory):
    """A tiny srcnn_joint trained for 2 epochs on the area pairs."""
    out_dir = tmp_path_factory.mktemp("srcnn_joint")
    summary = train_model("srcnn_joint", *area_pairs, out_dir, joint_settings(), "cpu", pipeline={"n_components": 3})
    return out_dir / "best.pt", summary


def test_the_loss_leaves_out_a_missing_channel():
    prediction, target = torch.rand(2, 3, 5, 5), torch.rand(2, 3, 5, 5)
    mask = torch.tensor([[True, False, True], [True, True, True]])
    loss = masked_mse(prediction, target, mask)
    # whatever the missing channel holds, the loss is the MSE over the five maps that are there
    wild = target.clone()
    wild[0, 1] = 1e6
    assert masked_mse(prediction, wild, mask) == loss
    expected = torch.cat([((prediction - target) ** 2)[0, [0, 2]].flatten(), ((prediction - target) ** 2)[1].flatten()])
    torch.testing.assert_close(loss, expected.mean())
    # every channel kept: the plain MSE
    all_kept = torch.ones(2, 3, dtype=torch.bool)
    torch.testing.assert_close(
        masked_mse(prediction, target, all_kept), torch.nn.functional.mse_loss(prediction, target)
    )


def test_training_a_joint_model_learns_from_area_stacks_and_records_it(trained_joint):
    best, summary = trained_joint
    assert (summary["n_train"], summary["n_val"], summary["joint_maps"]) == (4, 1, N_MAPS)
    checkpoint = torch.load(best, weights_only=True)
    assert checkpoint["model_name"] == "srcnn_joint"
    assert checkpoint["joint_maps"] == N_MAPS == checkpoint["model_kwargs"]["in_channels"]
    assert checkpoint_joint_maps(best) == N_MAPS
    model = load_model(best, "cpu")
    assert model(torch.rand(1, N_MAPS, 6, 7)).shape == (1, N_MAPS, 6 * FACTOR, 7 * FACTOR)
    assert np.isfinite(summary["best_val_psnr"])


def test_srresnet_joint_trains_and_scores_on_the_same_path(area_pairs, tmp_path):
    settings = joint_settings(epochs=1, model={"n_channels": 8, "n_blocks": 1, "bicubic_skip": True})
    summary = train_model("srresnet_joint", *area_pairs, tmp_path, settings, "cpu", pipeline={"n_components": 3})
    assert summary["joint_maps"] == N_MAPS and np.isfinite(summary["best_val_psnr"])
    assert torch.load(tmp_path / "best.pt", weights_only=True)["model_kwargs"]["in_channels"] == N_MAPS
    evaluate_model_file("srresnet_joint", tmp_path / "best.pt", *area_pairs, tmp_path / "scores.csv")
    # a row per kept map (6 areas x 3 components, one dropped) and scale, against the measured map only
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 17 * len(SCALES)


def test_a_dropped_components_target_does_not_move_the_training(area_pairs):
    """The trainer masks the channel: whatever fills a dropped map's target, the step is the same."""
    pairs_path, split_path = area_pairs
    train = load_pairs(pairs_path, split_path, "train", N_MAPS)
    assert train.mask.sum() == 4 * N_MAPS - 1 and not train.highres[~train.mask].any()
    lowres, highres, positions = make_batch(train, range(4), mode="full", margin=0)
    mask = torch.from_numpy(train.mask)
    filled = highres.copy()
    filled[~train.mask] = 5.0
    steps = {}
    for name, target in (("zeros", highres), ("zeros again", highres), ("filled", filled), ("unmasked", filled)):
        run = TrainingRun("srcnn_joint", resolve_settings(joint_settings()), torch.device("cpu"), FACTOR, n_maps=N_MAPS)
        step_mask = torch.ones_like(mask) if name == "unmasked" else mask
        losses = run.train_step(*(torch.from_numpy(a) for a in (lowres, target, positions)), step_mask)
        steps[name] = (losses["train_loss"].item(), run.model.state_dict())
    assert steps["filled"][0] == pytest.approx(steps["zeros"][0], rel=1e-6)
    for key, value in steps["zeros"][1].items():
        torch.testing.assert_close(steps["filled"][1][key], value)
    # the check can fail: left in, the dropped map's target would change the loss
    assert steps["unmasked"][0] > 2 * steps["zeros"][0]


def test_a_joint_model_needs_the_runs_component_count(area_pairs, tmp_path):
    with pytest.raises(ValueError, match="n_components"):
        train_model("srcnn_joint", *area_pairs, tmp_path / "none", joint_settings(), "cpu")
    settings = joint_settings(model={**TINY_SRCNN, "in_channels": 2})
    with pytest.raises(ValueError, match=r"srcnn_joint: model: in_channels is 2.*3 component maps"):
        train_model("srcnn_joint", *area_pairs, tmp_path / "two", settings, "cpu", pipeline={"n_components": 3})


def test_a_joint_model_is_scored_per_map_in_the_single_map_format(area_pairs, trained_joint, tmp_path):
    pairs_path, split_path = area_pairs
    best, _ = trained_joint
    train_model("bicubic", pairs_path, split_path, tmp_path / "bicubic", {}, "cpu")
    evaluate_model_file("bicubic", tmp_path / "bicubic" / "best.pt", pairs_path, split_path, tmp_path / "single.csv")
    evaluate_model_file("srcnn_joint", best, pairs_path, split_path, tmp_path / "joint.csv")
    single, joint = pd.read_csv(tmp_path / "single.csv"), pd.read_csv(tmp_path / "joint.csv")
    assert list(joint.columns) == list(single.columns)
    keys = ["pair_id", "sample", "area", "component", "split", "reference", "scale"]
    pd.testing.assert_frame_equal(joint[keys], single[keys])
    assert set(joint["model"]) == {"srcnn_joint"} and np.isfinite(joint[["psnr", "ssim"]]).all().all()
    assert "s_a1_c1" not in set(joint["pair_id"])  # the dropped map has no row, its area's others do
    assert {"s_a1_c0", "s_a1_c2"} <= set(joint["pair_id"])


def test_each_maps_output_comes_from_its_areas_stack(area_pairs, trained_joint):
    pairs_path, split_path = area_pairs
    best, _ = trained_joint
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    with np.load(pairs_path) as pairs:
        lowres = pairs["lowres"]
    upscaled = super_resolve_pairs(best, lowres, table, "cpu")
    assert upscaled.shape == (len(table), FACTOR * LOWRES, FACTOR * LOWRES)
    model = load_model(best, "cpu")
    # area a1: components 0 and 2, a zero map for the dropped 1
    rows = table.index[table["area"] == "a1"]
    stack = np.stack([lowres[rows[0]], np.zeros_like(lowres[0]), lowres[rows[1]]])
    expected = super_resolve(model, stack[None], stacks=True)[0]
    np.testing.assert_allclose(upscaled[rows], expected[[0, 2]], atol=1e-5)
    # and a single-map model's outputs are its map-by-map ones
    single = best.parent / "bicubic.pt"
    save_checkpoint({"model_name": "bicubic", "model_kwargs": {"scaling_factor": FACTOR}, "model_state": None}, single)
    np.testing.assert_allclose(
        super_resolve_pairs(single, lowres, table, "cpu"), super_resolve(build("bicubic", scaling_factor=4), lowres)
    )


def test_predict_super_resolves_all_maps_of_a_scan_in_one_pass(lowres_scan, tmp_path):  # noqa: F811
    torch.manual_seed(0)
    model = build("srcnn_joint", **TINY_SRCNN, in_channels=3, scaling_factor=FACTOR)
    path = tmp_path / "joint.pt"
    save_checkpoint(
        {
            "model_name": "srcnn_joint",
            "model_kwargs": {**TINY_SRCNN, "in_channels": 3, "padding_mode": "replicate", "scaling_factor": FACTOR},
            "joint_maps": 3,
            "pipeline": PIPELINE,
            "model_state": model.state_dict(),
            "intensity_convention": INTENSITY_CONVENTION,
        },
        path,
    )
    result, outputs = run(lowres_scan, path, tmp_path)
    with np.load(outputs["out_maps"]) as maps:
        lowres_maps, predicted = maps["lowres_maps"], maps["predicted_maps"]
        channels = component_channels(maps["spectra"], maps["wavenumbers"])
    assert result["model"] == "srcnn_joint" and predicted.shape == (3, FACTOR * 10, FACTOR * 12)
    # the maps go in in the chemistry-consistent channel order and come back in the scan's component order
    stacked = np.empty_like(lowres_maps)
    stacked[channels] = lowres_maps
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(stacked)[None])[0].numpy()[channels]
    np.testing.assert_allclose(predicted, expected, atol=1e-5)
    # one pass over all maps, not three one-map passes: a map's output depends on the other maps
    changed = stacked.copy()
    changed[1:] = 0
    with torch.no_grad():
        alone = model(torch.from_numpy(changed)[None])[0].numpy()
    assert not np.allclose(alone[0], expected[np.flatnonzero(channels == 0)[0]], atol=1e-4)


def test_the_example_figures_run_a_joint_model_on_the_examples_areas(area_pairs, trained_joint):
    from ramansr.figures.examples import upscale_examples

    pairs_path, split_path = area_pairs
    best, _ = trained_joint
    table = pd.read_csv(split_path, dtype={"sample": str, "area": str})
    with np.load(pairs_path) as pairs:
        lowres = pairs["lowres"]
    indices = [7, 3]  # a2's component 2, a1's component 0 (a1's 1 was dropped)
    shown = upscale_examples({"srcnn_joint": best}, lowres, table, indices)["srcnn_joint"]
    np.testing.assert_allclose(shown, super_resolve_pairs(best, lowres, table, "cpu")[indices], atol=1e-6)
