"""Synthetic training pairs from the run's imaging model, and pretraining on them."""

import json

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio
from test_train import assert_same_weights, model_state, tiny_settings, write_synthetic_pairs

from ramansr.optics import reimage_lowres
from ramansr.synthetic import KINDS, ImagingModel, finest_scale_noise, lowres_noise, morphology, synthetic_pairs
from ramansr.train import resolve_settings, train_model

# the simulator's optics (2 um LR step, NA 0.5 and 0.8, 488 nm), SR factor 4
IMAGING = ImagingModel(factor=4, lowres_step_um=2.0, lowres_na=0.5, highres_na=0.8, excitation_nm=488.0)


def smooth_objects(n, size, seed=0):
    """Objects on the HR grid with structure at every scale the tests need (domains, [0, 1])."""
    rng = np.random.default_rng(seed)
    return np.stack([morphology("domains", (size, size), IMAGING.highres_step_um, rng) for _ in range(n)])


def test_the_lr_image_is_reimage_lowres_of_the_object():
    objects = smooth_objects(3, 48)
    lowres = IMAGING.lowres(objects)
    expected = reimage_lowres(objects, 4, lowres_step_um=2.0, na=0.5, wavelength_um=0.488)
    assert lowres.shape == (3, 12, 12) and lowres.dtype == np.float32
    np.testing.assert_array_equal(lowres, expected)
    # with noise: the same image plus noise of the model's level
    noisy = ImagingModel(**{**IMAGING.__dict__, "noise": 0.05}).lowres(objects, np.random.default_rng(0))
    assert np.std(noisy - expected) == pytest.approx(0.05, rel=0.1)


def test_the_lr_image_samples_at_the_registered_grids_points():
    """LR point p sits at HR pixel 4 p + 1.5 (ramansr.register): a point object's LR image peaks there."""
    imaging = ImagingModel(factor=4, lowres_step_um=2.0, lowres_na=0.5, highres_na=0.8, excitation_nm=488.0)
    objects = np.zeros((1, 32, 32))
    objects[0, 13:15, 9:11] = 1.0  # centred at HR (13.5, 9.5) = 4 * (3, 2) + 1.5
    lowres = imaging.lowres(objects)[0]
    assert np.unravel_index(np.argmax(lowres), lowres.shape) == (3, 2)
    # symmetric about that point: its neighbours on either side see the same
    assert lowres[2, 2] == pytest.approx(lowres[4, 2], abs=1e-6)
    assert lowres[3, 1] == pytest.approx(lowres[3, 3], abs=1e-6)


@pytest.mark.parametrize(
    "transform",
    [
        lambda a: a[..., ::-1],
        lambda a: a[..., ::-1, :],
        lambda a: np.rot90(a, 1, axes=(-2, -1)),
        lambda a: np.rot90(a, 2, axes=(-2, -1)),
    ],
    ids=["mirror", "flip", "quarter turn", "half turn"],
)
def test_flips_and_quarter_turns_commute_with_the_imaging(transform):
    """A turned or mirrored object's LR image is the turned or mirrored LR image: the pairs stay aligned."""
    objects = smooth_objects(2, 40, seed=1)
    turned = IMAGING.lowres(np.ascontiguousarray(transform(objects)))
    np.testing.assert_allclose(turned, transform(IMAGING.lowres(objects)), atol=1e-5)
    np.testing.assert_allclose(
        IMAGING.highres(np.ascontiguousarray(transform(objects))), transform(IMAGING.highres(objects)), atol=1e-5
    )


def test_pairs_from_measured_windows_are_their_lr_images():
    windows = list(smooth_objects(4, 50, seed=2).astype(np.float32))
    pairs = synthetic_pairs(windows, IMAGING, 6, morphologies=0.0, size=12, edge=0, seed=0)
    assert pairs.lowres.shape == (6, 1, 12, 12) and pairs.highres.shape == (6, 1, 48, 48)
    assert pairs.factor == 4 and pairs.positions.tolist() == [[0, 0]] * 6
    assert list(pairs.pair_ids) == [f"window_{i}" for i in range(6)]
    for lowres, highres in zip(pairs.lowres[:, 0], pairs.highres[:, 0], strict=True):
        # noise-free model: exactly the LR image of the window
        np.testing.assert_array_equal(lowres, IMAGING.lowres(highres[None])[0])
        # and the window is one of the measured ones, turned, mirrored and shifted
        found = False
        for window in windows:
            for candidate in (window, window[:, ::-1]):
                for turns in range(4):
                    turned = np.rot90(candidate, turns)
                    for top in range(3):
                        for left in range(3):
                            found |= np.array_equal(turned[top : top + 48, left : left + 48], highres)
        assert found


def test_synthetic_morphologies_are_aligned_with_their_lr_maps():
    """The target (object through the HR PSF) re-imaged gives the LR map (object through the LR PSF) up to the
    small excess of the HR blur; moved by one HR pixel it does not."""
    pairs = synthetic_pairs(None, IMAGING, 8, size=16, edge=0, seed=3)
    assert pairs.lowres.shape == (8, 1, 16, 16) and pairs.highres.shape == (8, 1, 64, 64)
    assert sorted({name.split("_")[0] for name in pairs.pair_ids}) == sorted(KINDS)
    aligned, moved = [], []
    for lowres, highres in zip(pairs.lowres[:, 0], pairs.highres[:, 0], strict=True):
        inner = (slice(2, -2), slice(2, -2))
        aligned.append(peak_signal_noise_ratio(lowres[inner], IMAGING.lowres(highres[None])[0][inner], data_range=1))
        shifted = np.roll(highres, 1, axis=1)
        moved.append(peak_signal_noise_ratio(lowres[inner], IMAGING.lowres(shifted[None])[0][inner], data_range=1))
    # sharp interfaces (down to 0.1 um) feel the HR blur most: 28 dB at worst, above 39 dB for the others
    assert min(aligned) > 25.0 and np.median(aligned) > 39.0
    assert all(a > m + 10.0 for a, m in zip(aligned, moved, strict=True))


def test_windows_sit_edge_lr_points_in_and_every_pair_has_one_shape():
    windows = list(smooth_objects(2, 100, seed=4))
    pairs = synthetic_pairs(windows, IMAGING, 10, morphologies=0.5, size=24, edge=2, seed=5)
    assert pairs.lowres.shape == (10, 1, 24, 24) and pairs.highres.shape == (10, 1, 80, 80)
    assert pairs.positions.tolist() == [[8, 8]] * 10
    assert sum(name.startswith("window_") for name in pairs.pair_ids) == 5
    # a window of a measured object is the interior of the object the LR map was made from
    repeat = synthetic_pairs(windows, IMAGING, 10, morphologies=0.5, size=24, edge=0, seed=5)
    np.testing.assert_array_equal(repeat.highres[:5, 0, 8:-8, 8:-8], pairs.highres[:5, 0])


def test_morphologies_of_every_kind_span_zero_to_one_and_unknown_ones_are_refused():
    rng = np.random.default_rng(0)
    for kind in KINDS:
        image = morphology(kind, (64, 64), 0.5, rng)
        assert image.shape == (64, 64) and image.min() == 0.0 and image.max() == 1.0
    with pytest.raises(ValueError, match="unknown morphology"):
        morphology("stripes", (8, 8), 0.5, rng)
    with pytest.raises(ValueError, match="unknown morphologies"):
        synthetic_pairs(None, IMAGING, 2, kinds=["stripes"], size=8)


def test_noise_is_measured_against_the_imaged_hr_windows():
    """Aliased fine structure does not count as noise; the LR maps' own noise does."""
    rng = np.random.default_rng(6)
    objects = np.stack(
        [morphology("domains", (200, 200), 0.5, np.random.default_rng(seed)) for seed in range(6)]
    )  # fine domains: the LR maps alias
    clean = IMAGING.lowres(objects)
    lowres = clean + rng.normal(0.0, 0.02, clean.shape).astype(np.float32)
    positions = rng.integers(0, 100, size=(6, 2))
    windows = np.stack([o[y : y + 100, x : x + 100] for o, (x, y) in zip(objects, positions, strict=True)])
    assert lowres_noise(lowres, windows, positions, IMAGING) == pytest.approx(0.02, rel=0.15)
    assert lowres_noise(clean, windows, positions, IMAGING) < 0.002
    # a wrong corner leaves structure in the residual
    assert lowres_noise(clean, windows, positions + 2, IMAGING) > 0.005
    assert finest_scale_noise(rng.normal(0.0, 0.03, (64, 64))) == pytest.approx(0.03, rel=0.15)


PRETRAIN = {"enabled": True, "pairs": 12, "epochs": 1, "size": 6, "edge": 1, "imaging": {"lowres_step_um": 2.0}}


def test_pretraining_off_is_the_training_without_it(tmp_path):
    """Absent, null or enabled: false: the same settings, checkpoint and weights."""
    pairs_path, split_path = write_synthetic_pairs(tmp_path, window_size=32)
    runs = {}
    for name, pretrain in (("absent", ...), ("null", None), ("disabled", {"enabled": False, "pairs": 5})):
        settings = tiny_settings(epochs=2) if pretrain is ... else tiny_settings(epochs=2, pretrain=pretrain)
        assert "pretrain" not in resolve_settings(settings)
        train_model("srresnet", pairs_path, split_path, tmp_path / name, settings)
        runs[name] = torch.load(tmp_path / name / "best.pt", weights_only=True)
    for name in ("null", "disabled"):
        assert_same_weights(runs["absent"]["model_state"], runs[name]["model_state"])
        assert runs[name].keys() == runs["absent"].keys() and "pretrain" not in runs[name]
        assert runs[name]["settings"] == runs["absent"]["settings"]


def test_pretraining_changes_the_weights_and_is_recorded(tmp_path):
    pairs_path, split_path = write_synthetic_pairs(tmp_path, window_size=32)
    train_model("srresnet", pairs_path, split_path, tmp_path / "scratch", tiny_settings(epochs=2))
    train_model("srresnet", pairs_path, split_path, tmp_path / "pre", tiny_settings(epochs=2, pretrain=PRETRAIN))
    scratch, pretrained = model_state(tmp_path / "scratch" / "best.pt"), model_state(tmp_path / "pre" / "best.pt")
    assert any(not torch.equal(scratch[key], pretrained[key]) for key in scratch)
    checkpoint = torch.load(tmp_path / "pre" / "best.pt", weights_only=True)
    assert checkpoint["settings"]["pretrain"]["pairs"] == 12
    assert checkpoint["settings"]["pretrain"]["morphologies"] == 0.5
    record = checkpoint["pretrain"]
    assert record["pairs"] == 12 and record["epochs"] == 1 and record["seconds"] > 0
    assert record["imaging"] == {"lowres_step_um": 2.0, "lowres_na": 0.5, "highres_na": 0.8, "excitation_nm": 532.0}
    assert record["noise"] > 0 and np.isfinite(record["train_loss"])
    written = json.loads((tmp_path / "pre" / "summary.json").read_text())
    assert written["pretrain"]["pairs"] == 12 and written["settings"]["pretrain"]["size"] == 6
    # the same seed, the same pretrained run
    train_model("srresnet", pairs_path, split_path, tmp_path / "again", tiny_settings(epochs=2, pretrain=PRETRAIN))
    assert_same_weights(pretrained, model_state(tmp_path / "again" / "best.pt"))


def test_pretraining_moves_the_weights_the_fine_tuning_starts_from(tmp_path, monkeypatch):
    """The run's model leaves pretraining with other weights than it entered with."""
    import ramansr.train as train

    pairs_path, split_path = write_synthetic_pairs(tmp_path, window_size=32)
    seen = {}
    original = train.pretrain

    def spy(run, train_pairs, steps):
        before = {key: value.clone() for key, value in run.model.state_dict().items()}
        record = original(run, train_pairs, steps)
        seen["before"], seen["after"] = before, {k: v.clone() for k, v in run.model.state_dict().items()}
        return record

    monkeypatch.setattr(train, "pretrain", spy)
    train_model("srresnet", pairs_path, split_path, tmp_path / "pre", tiny_settings(epochs=1, pretrain=PRETRAIN))
    assert any(not torch.equal(seen["before"][key], seen["after"][key]) for key in seen["before"])


def test_pretrain_settings_are_checked():
    with pytest.raises(ValueError, match="unknown pretrain settings"):
        resolve_settings({"pretrain": {"enabled": True, "pears": 3}})
    with pytest.raises(ValueError, match="morphologies"):
        resolve_settings({"pretrain": {"enabled": True, "morphologies": 1.5}})
    with pytest.raises(ValueError, match="kinds"):
        resolve_settings({"pretrain": {"enabled": True, "kinds": ["stripes"]}})
    resolved = resolve_settings({"pretrain": {"enabled": True}})["pretrain"]
    assert resolved["pairs"] == 512 and resolved["kinds"] == list(KINDS) and resolved["noise"] is None


def test_jitter_moves_the_targets_by_up_to_its_offset_and_leaves_the_lr_maps():
    windows = list(smooth_objects(2, 100, seed=7).astype(np.float32))
    exact = synthetic_pairs(windows, IMAGING, 6, size=16, edge=2, seed=8)
    jittered = synthetic_pairs(windows, IMAGING, 6, size=16, edge=2, jitter=0.5, seed=8)
    np.testing.assert_array_equal(exact.lowres, jittered.lowres)
    for target, moved in zip(exact.highres[:, 0], jittered.highres[:, 0], strict=True):
        assert not np.array_equal(target, moved)
        # the moved target is the exact one shifted by less than half a pixel along each axis
        target = target.astype(np.float64)
        errors = [
            np.abs(ndimage.shift(target, (dy, dx), order=3, mode="mirror") - moved)[4:-4, 4:-4].max()
            for dy in np.linspace(-0.5, 0.5, 11)
            for dx in np.linspace(-0.5, 0.5, 11)
        ]
        assert min(errors) < 0.25 * max(errors)


def test_the_default_config_pretrains_srcnn_alone_and_the_papers_recipe_nothing():
    """config.yaml, and config/paper.yaml on top of it merged as Snakemake merges config files."""
    from pathlib import Path

    import yaml
    from snakemake.utils import update_config

    from ramansr.models import TRAINABLE

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config.yaml").read_text())

    def resolved(name):
        return resolve_settings({**config["training"], **(config["model_settings"].get(name) or {})})

    assert [name for name in TRAINABLE if "pretrain" in resolved(name)] == ["srcnn"]
    assert resolved("srcnn")["epochs"] == 30 and resolved("srcnn")["pretrain"]["jitter"] == 0.5
    update_config(config, yaml.safe_load((repo / "config" / "paper.yaml").read_text()))
    assert not [name for name in TRAINABLE if "pretrain" in resolved(name)]
