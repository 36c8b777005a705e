"""Training: settings, repeatability, resuming, checkpoints, and loading and applying the trained model."""

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.ndimage import gaussian_filter

from ramansr.convention import INTENSITY_CONVENTION
from ramansr.inference import load_model, super_resolve
from ramansr.models import TRAINABLE, build
from ramansr.models.interpolation import Interpolation
from ramansr.models.srgan import Generator
from ramansr.train import DEFAULT_SETTINGS, resolve_settings, train_model
from ramansr.trainer import learning_rate_factor

TINY_SRRESNET = {"n_channels": 8, "n_blocks": 2}
TINY_DISCRIMINATOR = {"n_channels": 4, "n_blocks": 4, "fc_size": 8}


def write_synthetic_pairs(
    folder, n_pairs=10, lowres_size=12, window_size=16, seed=0, factor=4, lowres_cols=None, window_cols=None
):
    """pairs.npz and split.csv of smooth maps: LR is the factor x factor block mean of an HR field, HR a
    window of it."""
    rng = np.random.default_rng(seed)
    lowres_cols = lowres_cols or lowres_size
    window_cols = window_cols or window_size
    lowres, highres, positions = [], [], []
    for _ in range(n_pairs):
        field = gaussian_filter(rng.random((factor * lowres_size, factor * lowres_cols)), 3)
        field = (field - field.min()) / (field.max() - field.min())
        x = rng.uniform(0, factor * lowres_cols - window_cols)
        y = rng.uniform(0, factor * lowres_size - window_size)
        column, row = int(np.rint(x)), int(np.rint(y))
        lowres.append(field.reshape(lowres_size, factor, lowres_cols, factor).mean(axis=(1, 3)))
        highres.append(field[row : row + window_size, column : column + window_cols])
        positions.append((x, y))
    pair_ids = np.array([f"s_a{index}_c0" for index in range(n_pairs)])
    np.savez(
        folder / "pairs.npz",
        lowres=np.array(lowres, np.float32),
        highres=np.array(highres, np.float32),
        position=np.array(positions, np.float32),
        pair_id=pair_ids,
        factor=np.array(factor),
        intensity_convention=INTENSITY_CONVENTION,
        lowres_step_um=np.array([2.0, 2.0]),
        highres_step_um=np.array([2.0 / factor, 2.0 / factor]),
    )
    splits = ["train"] * (n_pairs - 3) + ["val", "val", "test"]
    pd.DataFrame(
        {
            "pair_id": pair_ids,
            "sample": "s",
            "area": [f"a{i}" for i in range(n_pairs)],
            "component": 0,
            "X": [p[0] for p in positions],
            "Y": [p[1] for p in positions],
            "split": splits,
        }
    ).to_csv(folder / "split.csv", index=False)
    return folder / "pairs.npz", folder / "split.csv"


@pytest.fixture
def dataset(tmp_path):
    return write_synthetic_pairs(tmp_path)


def tiny_settings(**overrides):
    settings = {
        "epochs": 6,
        "batch_size": 3,
        "val_every": 2,
        "checkpoint_every": 2,
        "seed": 3,
        "model": TINY_SRRESNET,
        "discriminator": TINY_DISCRIMINATOR,
        "learning_rate": 1e-3,
    }
    settings.update(overrides)
    return settings


def model_state(path):
    return torch.load(path, weights_only=True)["model_state"]


def assert_same_weights(first, second):
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_settings_fill_defaults_and_reject_typos():
    settings = resolve_settings({"epochs": 5})
    assert settings["epochs"] == 5 and settings["learning_rate"] == DEFAULT_SETTINGS["learning_rate"] == 1e-4
    assert DEFAULT_SETTINGS["epochs"] == 1000 and DEFAULT_SETTINGS["adversarial_weight"] == 1e-3
    with pytest.raises(ValueError, match="learnig_rate"):
        resolve_settings({"learnig_rate": 1e-3})
    with pytest.raises(ValueError, match="mode"):
        resolve_settings({"mode": "patch"})


@pytest.mark.parametrize("mode", ["full", "crop"])
def test_training_lowers_the_loss_and_writes_every_output(dataset, tmp_path, mode):
    pairs_path, split_path = dataset
    summary = train_model(
        "srresnet", pairs_path, split_path, tmp_path / "run", tiny_settings(epochs=12, val_every=3, mode=mode, margin=2)
    )
    with open(tmp_path / "run" / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in history] == list(range(1, 13))
    losses = [float(row["train_loss"]) for row in history]
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3])
    validated = [int(row["epoch"]) for row in history if row["val_psnr"]]
    assert validated == [3, 6, 9, 12] and all(row["val_loss"] == "" for row in history if not row["val_psnr"])
    best_row = max((row for row in history if row["val_psnr"]), key=lambda row: float(row["val_psnr"]))
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["epoch"] == int(best_row["epoch"]) == summary["best_epoch"]
    assert summary["best_val_psnr"] == pytest.approx(float(best_row["val_psnr"]))
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["settings"]["mode"] == mode and written["epochs_completed"] == 12
    assert written["settings"]["learning_rate"] == 1e-3


def test_same_seed_gives_same_weights(dataset, tmp_path):
    pairs_path, split_path = dataset
    settings = tiny_settings(epochs=3, augment=True)
    train_model("srresnet", pairs_path, split_path, tmp_path / "a", settings)
    train_model("srresnet", pairs_path, split_path, tmp_path / "b", settings)
    train_model("srresnet", pairs_path, split_path, tmp_path / "c", {**settings, "seed": 4})
    assert_same_weights(model_state(tmp_path / "a" / "last.pt"), model_state(tmp_path / "b" / "last.pt"))
    first, other_seed = model_state(tmp_path / "a" / "last.pt"), model_state(tmp_path / "c" / "last.pt")
    assert not all(torch.equal(first[key], other_seed[key]) for key in first)


class Killed(Exception):
    """Stands in for the job being killed."""


@pytest.mark.parametrize(
    ("model_name", "overrides"),
    [
        ("srresnet", {"mode": "crop", "margin": 2, "augment": True}),
        ("srgan", {"mode": "full"}),
    ],
)
def test_a_killed_run_resumes_to_the_same_weights(dataset, tmp_path, model_name, overrides):
    pairs_path, split_path = dataset
    settings = tiny_settings(**overrides)  # 6 epochs, last.pt every 2
    train_model(model_name, pairs_path, split_path, tmp_path / "whole", settings)

    def kill_after_epoch_3(epoch, row):
        if epoch == 3:
            raise Killed

    with pytest.raises(Killed):
        train_model(model_name, pairs_path, split_path, tmp_path / "killed", settings, on_epoch_end=kill_after_epoch_3)
    assert torch.load(tmp_path / "killed" / "last.pt", weights_only=True)["epoch"] == 2
    summary = train_model(model_name, pairs_path, split_path, tmp_path / "killed", settings)
    assert summary["resumed_from_epoch"] == 2 and summary["epochs_completed"] == 6

    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "last.pt", weights_only=True)
    assert_same_weights(whole["model_state"], resumed["model_state"])
    if model_name == "srgan":
        assert_same_weights(whole["discriminator_state"], resumed["discriminator_state"])
    assert resumed["history"] == whole["history"]
    assert (tmp_path / "killed" / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()
    assert_same_weights(model_state(tmp_path / "whole" / "best.pt"), model_state(tmp_path / "killed" / "best.pt"))


def test_a_run_that_fails_part_way_leaves_no_declared_output(dataset, tmp_path):
    """best.pt and history.csv appear only at the end, so the pipeline never trusts a half-trained model."""
    pairs_path, split_path = dataset
    out_dir = tmp_path / "run"
    train_model("srresnet", pairs_path, split_path, out_dir, tiny_settings(epochs=2))  # an older, finished run

    def fail_after_epoch_5(epoch, row):
        if epoch == 5:
            raise Killed

    settings = tiny_settings(seed=4)
    with pytest.raises(Killed):
        train_model("srresnet", pairs_path, split_path, out_dir, settings, on_epoch_end=fail_after_epoch_5)
    assert not (out_dir / "best.pt").exists() and not (out_dir / "history.csv").exists()
    assert torch.load(out_dir / "last.pt", weights_only=True)["epoch"] == 4
    summary = train_model("srresnet", pairs_path, split_path, out_dir, settings)
    assert summary["resumed_from_epoch"] == 4
    train_model("srresnet", pairs_path, split_path, tmp_path / "whole", settings)
    assert_same_weights(model_state(tmp_path / "whole" / "best.pt"), model_state(out_dir / "best.pt"))
    assert (tmp_path / "whole" / "history.csv").read_text() == (out_dir / "history.csv").read_text()


@pytest.mark.parametrize("val_pairs", [True, False])
def test_a_forced_rerun_of_a_finished_run_trains_afresh(dataset, tmp_path, val_pairs):
    """What --forcerun train does: the declared outputs are removed and the job runs again."""
    pairs_path, split_path = dataset
    if not val_pairs:
        split = pd.read_csv(split_path)
        split.loc[split["split"] == "val", "split"] = "test"
        split.to_csv(split_path, index=False)
    out_dir = tmp_path / "run"
    train_model("srresnet", pairs_path, split_path, out_dir, tiny_settings(epochs=3))
    first_best = model_state(out_dir / "best.pt")
    for name in ("best.pt", "history.csv"):
        (out_dir / name).unlink()
    summary = train_model("srresnet", pairs_path, split_path, out_dir, tiny_settings(epochs=3))
    assert summary["resumed_from_epoch"] is None and summary["epochs_completed"] == 3
    assert_same_weights(first_best, model_state(out_dir / "best.pt"))  # same seed, same model
    assert list(pd.read_csv(out_dir / "history.csv")["epoch"]) == [1, 2, 3]


def test_more_epochs_continue_a_finished_run_but_other_settings_start_afresh(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "whole", tiny_settings(epochs=4))
    train_model("srresnet", pairs_path, split_path, tmp_path / "extended", tiny_settings(epochs=2))
    summary = train_model("srresnet", pairs_path, split_path, tmp_path / "extended", tiny_settings(epochs=4))
    assert summary["resumed_from_epoch"] == 2
    assert_same_weights(model_state(tmp_path / "whole" / "last.pt"), model_state(tmp_path / "extended" / "last.pt"))
    summary = train_model(
        "srresnet", pairs_path, split_path, tmp_path / "extended", tiny_settings(epochs=5, learning_rate=1e-2)
    )
    assert summary["resumed_from_epoch"] is None and summary["epochs_completed"] == 5
    assert len(pd.read_csv(tmp_path / "extended" / "history.csv")) == 5


def test_cosine_schedule_warms_up_then_decays_to_zero():
    factors = [learning_rate_factor(step, total_steps=20, warmup_steps=4) for step in range(20)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(later < earlier for earlier, later in itertools.pairwise(factors[4:]))
    assert learning_rate_factor(20, total_steps=20, warmup_steps=4) == pytest.approx(0.0)
    assert learning_rate_factor(12, total_steps=20, warmup_steps=4) == pytest.approx(0.5)


def test_cosine_schedule_sets_the_optimisers_step_and_resumes_with_it(dataset, tmp_path):
    pairs_path, split_path = dataset
    settings = tiny_settings(schedule="cosine", warmup_epochs=1)  # 6 epochs, last.pt every 2
    train_model("srgan", pairs_path, split_path, tmp_path / "whole", settings)
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    for name in ("model", "discriminator"):
        # decayed to (almost) nothing by the last step
        assert whole["optimiser_states"][name]["param_groups"][0]["lr"] < 1e-3 * settings["learning_rate"]

    def kill_after_epoch_3(epoch, row):
        if epoch == 3:
            raise Killed

    with pytest.raises(Killed):
        train_model("srgan", pairs_path, split_path, tmp_path / "killed", settings, on_epoch_end=kill_after_epoch_3)
    summary = train_model("srgan", pairs_path, split_path, tmp_path / "killed", settings)
    assert summary["resumed_from_epoch"] == 2
    assert_same_weights(whole["model_state"], model_state(tmp_path / "killed" / "last.pt"))
    # the epoch count sets the whole decay, so a cosine run with more epochs starts afresh
    summary = train_model("srgan", pairs_path, split_path, tmp_path / "killed", {**settings, "epochs": 8})
    assert summary["resumed_from_epoch"] is None


def test_changed_training_data_start_afresh(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "run", tiny_settings(epochs=2))
    split = pd.read_csv(split_path)
    split.loc[split["split"] == "val", "split"] = "train"  # the data change: more training pairs
    changed_split = tmp_path / "changed_split.csv"
    split.to_csv(changed_split, index=False)
    summary = train_model("srresnet", pairs_path, changed_split, tmp_path / "run", tiny_settings(epochs=3))
    assert summary["resumed_from_epoch"] is None
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3]


def test_srgan_generator_starts_from_the_srresnet(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "srresnet", tiny_settings(epochs=2))
    init_from = tmp_path / "srresnet" / "best.pt"
    # a zero learning rate leaves the parameters where init_from put them
    train_model(
        "srgan",
        pairs_path,
        split_path,
        tmp_path / "srgan",
        tiny_settings(epochs=1, learning_rate=0.0, init_from=init_from),
    )
    srresnet, srgan = load_model(init_from, "cpu"), load_model(tmp_path / "srgan" / "last.pt", "cpu")
    assert isinstance(srgan, Generator)
    for (name, expected), (_, actual) in zip(srresnet.named_parameters(), srgan.named_parameters(), strict=True):
        assert torch.equal(expected, actual), name
    history = pd.read_csv(tmp_path / "srgan" / "history.csv")
    assert list(history["epoch"]) == [0, 1] and pd.isna(history["train_loss"][0])
    wider = {**TINY_SRRESNET, "n_channels": 12}
    with pytest.raises(ValueError, match="architecture of the srresnet"):
        train_model(
            "srgan", pairs_path, split_path, tmp_path / "wider", tiny_settings(model=wider, init_from=init_from)
        )


def test_srgan_keeps_its_start_when_fine_tuning_lowers_validation_psnr(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "srresnet", tiny_settings(epochs=2))
    init_from = tmp_path / "srresnet" / "best.pt"
    # a step this large wrecks the generator, so every adversarial epoch validates worse than the start
    summary = train_model(
        "srgan",
        pairs_path,
        split_path,
        tmp_path / "srgan",
        tiny_settings(epochs=2, learning_rate=1.0, init_from=init_from),
    )
    history = pd.read_csv(tmp_path / "srgan" / "history.csv")
    assert summary["best_epoch"] == 0 and history["val_psnr"][0] > history["val_psnr"][1:].max()
    assert summary["best_val_psnr"] == pytest.approx(history["val_psnr"][0])
    assert_same_weights(model_state(init_from), model_state(tmp_path / "srgan" / "best.pt"))


@pytest.mark.parametrize(("name", "mode"), [("linear", "bilinear"), ("bicubic", "bicubic")])
def test_baselines_write_a_name_only_checkpoint(dataset, tmp_path, name, mode):
    pairs_path, split_path = dataset
    summary = train_model(name, pairs_path, split_path, tmp_path / name, {"epochs": 50})
    checkpoint = torch.load(tmp_path / name / "best.pt", weights_only=True)
    assert checkpoint["model_name"] == name and checkpoint["model_state"] is None
    assert checkpoint["intensity_convention"] == INTENSITY_CONVENTION
    assert checkpoint["steps_um"] == {"lowres": [2.0, 2.0], "highres": [0.5, 0.5]}
    model = load_model(tmp_path / name / "last.pt", "cpu")
    assert isinstance(model, Interpolation) and model.mode == mode
    assert summary["epochs_completed"] == 0 and 10 < summary["best_val_psnr"] < 60


def test_loaded_model_super_resolves_like_the_trained_one(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "run", tiny_settings(epochs=2))
    model = load_model(tmp_path / "run" / "best.pt", "cpu")
    assert not model.training
    checkpoint = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert checkpoint["intensity_convention"] == INTENSITY_CONVENTION
    assert checkpoint["steps_um"] == {"lowres": [2.0, 2.0], "highres": [0.5, 0.5]}  # what prediction checks
    lowres = np.load(pairs_path)["lowres"][:5]
    upscaled = super_resolve(model, lowres, batch_size=2)
    assert upscaled.shape == (5, 48, 48) and upscaled.dtype == np.float32
    with torch.no_grad():
        expected = model(torch.from_numpy(lowres[:, None]))[:, 0].numpy()
    np.testing.assert_allclose(upscaled, expected, atol=1e-6)
    np.testing.assert_allclose(super_resolve(model, lowres[0]), expected[0], atol=1e-6)


@pytest.mark.parametrize("factor", [2, 3])
def test_other_factors_train_and_score_end_to_end(tmp_path, factor):
    # non-square LR maps (10 x 13) and windows (9 x 14): models, crop batches and scores at the pairs' factor
    from ramansr.metrics import evaluate_model_file

    pairs_path, split_path = write_synthetic_pairs(
        tmp_path, lowres_size=10, lowres_cols=13, window_size=9, window_cols=14, factor=factor
    )
    for name, kwargs in (("srresnet", TINY_SRRESNET), ("linear", {})):
        out = tmp_path / name
        summary = train_model(
            name,
            pairs_path,
            split_path,
            out,
            tiny_settings(model=kwargs, mode="crop", margin=1, augment=True, epochs=2),
        )
        assert summary["factor"] == factor
        model = load_model(out / "best.pt", "cpu")
        assert super_resolve(model, np.zeros((10, 13), np.float32)).shape == (10 * factor, 13 * factor)
        evaluate_model_file(name, out / "best.pt", pairs_path, split_path, tmp_path / f"{name}.csv")
        scores = pd.read_csv(tmp_path / f"{name}.csv")
        assert len(scores) and np.isfinite(scores["psnr"]).all()
    # smooth maps: interpolation at the pairs' factor scores well; at a wrong factor it would not line up
    assert scores["psnr"].mean() > 25


def test_scoring_refuses_a_checkpoint_of_another_factor(tmp_path):
    from ramansr.metrics import evaluate_model_file

    pairs_path, split_path = write_synthetic_pairs(tmp_path, factor=4)
    train_model("linear", pairs_path, split_path, tmp_path / "linear", tiny_settings(model={}))
    other = tmp_path / "other"
    other.mkdir()
    pairs3, split3 = write_synthetic_pairs(other, factor=3)
    with pytest.raises(ValueError, match=r"trained for SR factor 4, but the pairs of .* are at factor 3"):
        evaluate_model_file("linear", tmp_path / "linear" / "best.pt", pairs3, split3, tmp_path / "x.csv")


def test_paper_config_restores_the_papers_recipe_over_the_cpu_budget():
    """config/paper.yaml on top of config.yaml, merged as Snakemake merges config files."""
    from snakemake.utils import update_config

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config.yaml").read_text())
    update_config(config, yaml.safe_load((repo / "config" / "paper.yaml").read_text()))
    for name in TRAINABLE:
        settings = resolve_settings({**config["training"], **config["model_settings"].get(name, {})})
        assert (settings["epochs"], settings["learning_rate"], settings["schedule"]) == (1000, 1e-4, "constant")
        paper_model = build(name, scaling_factor=4)
        model = build(name, **settings["model"], scaling_factor=4)
        assert not getattr(model, "bicubic_skip", False)
        assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in paper_model.parameters())


def test_checkpoints_record_their_padding_and_older_ones_load_zero_padded(dataset, tmp_path):
    pairs_path, split_path = dataset
    train_model("srresnet", pairs_path, split_path, tmp_path / "run", tiny_settings(epochs=1))
    checkpoint = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert checkpoint["model_kwargs"]["padding_mode"] == "replicate"
    del checkpoint["model_kwargs"]["padding_mode"]  # as written before the border's padding was chosen
    torch.save(checkpoint, tmp_path / "older.pt")
    older = load_model(tmp_path / "older.pt", "cpu")
    convolutions = [module for module in older.modules() if isinstance(module, torch.nn.Conv2d)]
    assert {conv.padding_mode for conv in convolutions} == {"zeros"} and older.margin == 0


WIENER_OPTICS = {"lowres_step_um": 2.0, "lowres_na": 0.5, "highres_na": 0.8, "excitation_nm": 488.0}


def test_wiener_chooses_its_balance_on_the_validation_pairs_unless_given(dataset, tmp_path):
    from ramansr.models import MODELS

    pairs_path, split_path = dataset
    summary = train_model("wiener", pairs_path, split_path, tmp_path / "chosen", {"model": WIENER_OPTICS})
    chosen = torch.load(tmp_path / "chosen" / "best.pt", weights_only=True)["model_kwargs"]
    assert chosen["balance"] in MODELS["wiener"].choices["balance"] and chosen["lowres_na"] == 0.5
    given = {"model": {**WIENER_OPTICS, "balance": 0.05}}
    fixed = train_model("wiener", pairs_path, split_path, tmp_path / "given", given)
    assert torch.load(tmp_path / "given" / "best.pt", weights_only=True)["model_kwargs"]["balance"] == 0.05
    # the chosen balance validates at least as well as any other, the given one included
    assert summary["best_val_psnr"] >= fixed["best_val_psnr"]


def test_wiener_on_your_own_scans_takes_the_lr_step_from_the_pair_set(dataset, tmp_path):
    """Without lowres_step_um in its settings (a samples-sheet run), the run's LR step, recorded in pairs.npz."""
    pairs_path, split_path = dataset
    optics = {key: value for key, value in WIENER_OPTICS.items() if key != "lowres_step_um"}
    train_model("wiener", pairs_path, split_path, tmp_path / "own", {"model": optics})
    kwargs = torch.load(tmp_path / "own" / "best.pt", weights_only=True)["model_kwargs"]
    assert kwargs["lowres_step_um"] == 2.0 and kwargs["highres_na"] == 0.8
