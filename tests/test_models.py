"""The SR models: shapes, sizes, the registry (and the schema and tables that follow it) and the baselines' values."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio
from torch import nn
from torch.nn import functional as F

from ramansr import models
from ramansr.inference import super_resolve, use_threads
from ramansr.metrics import MODEL_LABELS, border_gaps
from ramansr.models.rcan import RCAN, ChannelAttention, ResidualChannelAttentionBlock, ResidualGroup
from ramansr.models.srgan import Discriminator
from ramansr.models.srresnet import ResidualBlock, SRResNet
from ramansr.optics import airy_otf, blur

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"

TINY_KWARGS = {
    "linear": {},
    "bicubic": {},
    "wiener": {"lowres_step_um": 2.0, "lowres_na": 0.5, "highres_na": 0.8, "excitation_nm": 488.0},
    "srcnn": {"n_channels": (8, 4)},
    "srresnet": {"n_channels": 8, "n_blocks": 2},
    "srgan": {"n_channels": 8, "n_blocks": 2},
    "rcan": {"n_groups": 2, "n_blocks": 2, "n_channels": 16, "reduction": 4},
    "srcnn_joint": {"n_channels": (8, 4), "in_channels": 3},
    "srresnet_joint": {"n_channels": 8, "n_blocks": 2, "in_channels": 3},
}


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("name", list(models.MODELS))
def test_every_model_upscales_by_its_factor(name, factor):
    torch.manual_seed(0)
    model = models.build(name, **TINY_KWARGS[name], scaling_factor=factor)
    maps = TINY_KWARGS[name].get("in_channels", 1)  # a joint model's: all of an area's maps
    lowres = torch.rand(2, maps, 7, 9)  # odd and non-square on purpose
    upscaled = model(lowres)
    assert upscaled.shape == (2, maps, 7 * factor, 9 * factor)
    assert torch.isfinite(upscaled).all()


def test_no_model_has_a_default_factor():
    for name in models.MODELS:
        with pytest.raises(TypeError, match="scaling_factor"):
            models.build(name, **TINY_KWARGS[name])


def test_build_rejects_unknown_names_and_lists_known_ones():
    with pytest.raises(ValueError, match=r"srresnet.*rcan|rcan.*srresnet"):
        models.build("edsr")
    with pytest.raises(ValueError, match="bicubic"):
        models.is_trainable("edsr")


def test_trainable_names():
    assert set(models.TRAINABLE) == {"srcnn", "srresnet", "srgan", "rcan", "srcnn_joint", "srresnet_joint"}
    assert not models.is_trainable("linear") and not models.is_trainable("bicubic")
    assert all(models.is_trainable(name) for name in models.TRAINABLE)
    for name in models.MODELS:
        has_parameters = any(True for _ in models.build(name, **TINY_KWARGS[name], scaling_factor=4).parameters())
        assert has_parameters == models.is_trainable(name)


def enums(node):
    """Every ``enum`` list anywhere in a loaded JSON schema."""
    if isinstance(node, dict):
        return ([node["enum"]] if "enum" in node else []) + [e for value in node.values() for e in enums(value)]
    if isinstance(node, list):
        return [e for value in node for e in enums(value)]
    return []


def test_the_config_schema_leaves_the_model_names_to_the_registry():
    schema = yaml.safe_load(SCHEMA.read_text())
    # the models, model_settings and predict keys refer to one definition, which repeats no list of names:
    # the workflow checks them against ramansr.models.MODELS (tests/test_bad_inputs_pipeline.py, unknown model)
    assert schema["definitions"]["model_name"]["type"] == "string"
    assert [names for names in enums(schema) if "bicubic" in names] == []


def test_the_tables_follow_the_registry_in_the_papers_order():
    assert list(MODEL_LABELS) == [
        "linear",
        "bicubic",
        "wiener",
        "srcnn",
        "rcan",
        "srgan",
        "srresnet",
        "srcnn_joint",
        "srresnet_joint",
        "measured_hr",
    ]
    assert all(MODEL_LABELS[name] == entry.label for name, entry in models.MODELS.items())


def test_the_joint_models_are_their_single_map_architectures_on_an_areas_maps():
    assert models.JOINT == ("srcnn_joint", "srresnet_joint")
    assert models.is_joint("srcnn_joint") and not models.is_joint("srcnn")
    for name, single in (("srcnn_joint", "srcnn"), ("srresnet_joint", "srresnet")):
        joint_model = models.build(name, **TINY_KWARGS[name], scaling_factor=4)
        single_model = models.build(single, **TINY_KWARGS[single], scaling_factor=4)
        assert type(joint_model) is type(single_model)
        # only the layers that read or write the maps differ: 3 maps in and out instead of 1
        shapes = {key: value.shape for key, value in single_model.state_dict().items()}
        differing = {key for key, value in joint_model.state_dict().items() if value.shape != shapes[key]}
        assert differing and all(len(shapes[key]) in (1, 4) for key in differing)
        assert all(3 in joint_model.state_dict()[key].shape[:2] for key in differing)
    with pytest.raises(ValueError, match="edsr"):
        models.is_joint("edsr")


def test_every_trainable_model_has_an_automatic_precision():
    assert list(models.AUTO_PRECISION) == list(models.TRAINABLE)
    assert all(models.AUTO_PRECISION[name] in ("bf16", "tf32") for name in models.TRAINABLE)


def test_the_registry_and_the_tables_import_without_torch():
    # the tables and figures stages run in envs/ramansr.yaml, which has no torch
    code = "import sys, ramansr.models, ramansr.metrics; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("name", "mode"), [("linear", "bilinear"), ("bicubic", "bicubic")])
def test_interpolation_baselines_match_f_interpolate(name, mode):
    lowres = torch.rand(3, 1, 5, 6)
    expected = F.interpolate(lowres, scale_factor=4, mode=mode, align_corners=False)
    torch.testing.assert_close(models.build(name, scaling_factor=4)(lowres), expected)


def test_linear_baseline_keeps_a_ramp_a_ramp():
    # bilinear interpolation reproduces linear functions away from the border
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]
    upscaled = models.build("linear", scaling_factor=4)(ramp)[0, 0]
    steps = upscaled[:, 4:-4].diff(dim=1)
    torch.testing.assert_close(steps, torch.full_like(steps, 0.25))


def test_srcnn_has_the_9_5_5_64_32_layout():
    model = models.build("srcnn", scaling_factor=4)
    convolutions = [layer for layer in model.modules() if isinstance(layer, nn.Conv2d)]
    assert [layer.kernel_size for layer in convolutions] == [(9, 9), (5, 5), (5, 5)]
    assert [layer.out_channels for layer in convolutions] == [64, 32, 1]


def test_srresnet_defaults_are_the_papers():
    model = models.build("srresnet", scaling_factor=4)
    assert sum(isinstance(layer, ResidualBlock) for layer in model.modules()) == 16
    assert sum(isinstance(layer, nn.PixelShuffle) for layer in model.modules()) == 2
    assert any(isinstance(layer, nn.BatchNorm2d) for layer in model.modules())
    assert any(isinstance(layer, nn.PReLU) for layer in model.modules())
    assert model.conv_block1.block[0].out_channels == 64


def test_rcan_defaults_are_the_papers():
    model = models.build("rcan", scaling_factor=4)
    assert sum(isinstance(layer, ResidualGroup) for layer in model.modules()) == 10
    assert sum(isinstance(layer, ResidualChannelAttentionBlock) for layer in model.modules()) == 200
    attention = next(layer for layer in model.modules() if isinstance(layer, ChannelAttention))
    assert attention.excite[0].out_channels == 64 // 16
    assert model.head.out_channels == 64


def test_channel_attention_only_rescales_channels():
    attention = ChannelAttention(n_channels=8, reduction=4)
    features = torch.rand(2, 8, 5, 5) + 0.1
    ratio = attention(features) / features
    # one weight in (0, 1) per sample and channel, the same at every pixel
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio), atol=1e-6)
    assert ((ratio > 0) & (ratio < 1)).all()


def test_pixel_shuffle_stages_multiply_to_the_factor():
    from ramansr.models.upsampling import pixel_shuffle_stages

    assert pixel_shuffle_stages(2) == [2] and pixel_shuffle_stages(3) == [3]
    assert pixel_shuffle_stages(4) == [2, 2] and pixel_shuffle_stages(6) == [3, 2]
    rcan_x3 = RCAN(n_groups=1, n_blocks=1, n_channels=8, reduction=4, scaling_factor=3)
    assert sum(isinstance(layer, nn.PixelShuffle) for layer in rcan_x3.modules()) == 1
    assert rcan_x3(torch.rand(1, 1, 4, 5)).shape == (1, 1, 12, 15)
    for factor in (1, 5, 7):
        with pytest.raises(ValueError, match="product of 2s and 3s"):
            SRResNet(n_channels=4, n_blocks=1, scaling_factor=factor)


@pytest.mark.parametrize("size", [100, 64, 37])
def test_discriminator_scores_windows_of_any_size(size):
    discriminator = Discriminator(n_channels=8, n_blocks=4, fc_size=16)
    logits = discriminator(torch.rand(3, 1, size, size))
    assert logits.shape == (3,)


def test_srgan_generator_loads_an_srresnet_state_dict():
    torch.manual_seed(0)
    srresnet = models.build("srresnet", **TINY_KWARGS["srresnet"], scaling_factor=4).eval()
    generator = models.build("srgan", **TINY_KWARGS["srgan"], scaling_factor=4).eval()
    generator.load_state_dict(srresnet.state_dict())
    lowres = torch.rand(1, 1, 6, 6)
    torch.testing.assert_close(generator(lowres), srresnet(lowres))


@pytest.mark.parametrize("name", ["srcnn", "srresnet", "srgan", "rcan"])
def test_bicubic_skip_starts_at_bicubic_and_adds_it_to_the_networks_output(name):
    torch.manual_seed(0)
    plain = models.build(name, **TINY_KWARGS[name], scaling_factor=4).eval()
    skipped = models.build(name, **TINY_KWARGS[name], bicubic_skip=True, scaling_factor=4).eval()
    lowres = torch.rand(2, 1, 6, 5)
    bicubic = F.interpolate(lowres, scale_factor=4, mode="bicubic", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(skipped(lowres), bicubic)
        skipped.load_state_dict(plain.state_dict())
        torch.testing.assert_close(skipped(lowres), plain(lowres) + bicubic)


def test_use_threads_sets_torchs_cpu_threads_at_least_one():
    before = torch.get_num_threads()
    try:
        use_threads(1)
        assert torch.get_num_threads() == 1
        use_threads(0)  # a job always has a thread
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def trend_break(upscaled, factor):
    """Each side's border-strip gap (outer LR pixel's strip minus the one inside it) minus the gap one
    strip further in: zero where the border continues the map's own trend."""
    inside = upscaled[factor:-factor, factor:-factor]
    return border_gaps(upscaled, factor) - border_gaps(inside, factor)


@pytest.mark.parametrize("factor", [2, 4])
@pytest.mark.parametrize("name", list(models.MODELS))
def test_no_model_draws_a_frame_round_a_map_without_edges(name, factor):
    # randomly initialised: a frame comes from how the border is padded, not from what a model learnt
    torch.manual_seed(0)
    model = models.build(name, **TINY_KWARGS[name], scaling_factor=factor)
    maps = TINY_KWARGS[name].get("in_channels", 1)
    rows, cols = np.mgrid[0:24, 0:24] / 23
    # a constant comes out constant or with a sub-pixel pattern that repeats every LR pixel: no gap at all;
    # a ramp of range 1 keeps its slope up to the border, to 1 % of its range
    for lowres, tolerance in ((np.full((24, 24), 0.6), 1e-5), ((rows + cols) / 2, 0.01)):
        stack = np.repeat(lowres[None, None], maps, axis=1).astype(np.float32)
        for upscaled in super_resolve(model, stack, stacks=True)[0]:
            assert np.abs(trend_break(upscaled, factor)).max() < tolerance


def test_wiener_recovers_a_map_seen_through_the_known_optics_better_than_bicubic():
    # the simulator's optics: a specimen on a 0.25 um grid through each objective's Airy PSF (488 nm), then
    # point-sampled: LR at 2 um (NA 0.5), the truth at 0.5 um (NA 0.8); LR point p lies at HR pixel 4 p + 1.5
    # features of about 2 um, which the LR step samples without much aliasing: the blur is what is lost
    specimen = gaussian_filter(np.random.default_rng(0).random((336, 336)), 8)
    seen = {na: blur(specimen, airy_otf(specimen.shape, 0.25, 0.488, na)) for na in (0.5, 0.8)}
    lowres, truth = seen[0.5][3::8, 3::8][:40, :40], seen[0.8][::2, ::2][:160, :160]
    low, high = lowres.min(), lowres.max()
    lowres, truth = ((lowres - low) / (high - low)).astype(np.float32), (truth - low) / (high - low)
    wiener = models.build("wiener", **TINY_KWARGS["wiener"], scaling_factor=4)
    bicubic = models.build("bicubic", scaling_factor=4)
    # borders included: the Wiener filter mirrors the map rather than wrapping it round
    psnr = {
        name: peak_signal_noise_ratio(truth, super_resolve(model, lowres), data_range=1.0)
        for name, model in (("wiener", wiener), ("bicubic", bicubic))
    }
    assert psnr["wiener"] > psnr["bicubic"] + 1.0


def test_wiener_needs_an_lr_objective_no_sharper_than_the_hr_one():
    with pytest.raises(ValueError, match="at most the HR one's"):
        models.build("wiener", **{**TINY_KWARGS["wiener"], "lowres_na": 0.9}, scaling_factor=4)
