"""Figures, the rule graph and the shared style: each figure is written as PNG and PDF, and the PNG shows
something (not a blank canvas)."""

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from ramansr import figure_style, rulegraph
from ramansr.figures.examples import example_indices, plot_examples
from ramansr.figures.fourier import plot_fourier_selection, radial_profile
from ramansr.figures.registration import plot_registration, registration_components
from ramansr.figures.spectra import plot_decomposition, plot_smoothing
from ramansr.figures.training import plot_training_curves
from ramansr.io_utils import save_npz

N_COMPONENTS = 3
LR_SIZE = 12
HR_SIZE = 16
CHANNELS = 60
WINDOW_POSITION = (10.0, 14.0)  # (X, Y) in the 4x-upscaled LR map
MIN_PIXEL_VARIANCE = 1e-4

RULEGRAPH = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans, fontsize=10, penwidth=2];
    edge[penwidth=2, color=grey];
    0[label = "all", color = "0.0 0.6 0.85", style="rounded"];
    1[label = "tables", color = "0.1 0.6 0.85", style="rounded"];
    2[label = "evaluate", color = "0.2 0.6 0.85", style="rounded"];
    3[label = "train", color = "0.3 0.6 0.85", style="rounded"];
    4[label = "dataset", color = "0.4 0.6 0.85", style="rounded"];
    1 -> 0
    2 -> 1
    3 -> 2
    4 -> 3
    4 -> 2
    4 -> 1
}
"""


def assert_figure_written(png_path):
    """The PNG and its PDF twin exist, and the PNG is not a blank canvas."""
    assert png_path.with_suffix(".pdf").stat().st_size > 1000
    pixels = matplotlib.image.imread(png_path)
    assert pixels.var() > MIN_PIXEL_VARIANCE


def figure_paths(tmp_path, name):
    base = tmp_path / "figures" / name
    return [base.with_suffix(".png"), base.with_suffix(".pdf")]


def smooth_maps(rng, count, size):
    """Smooth non-negative maps, as NMF gives for real domains."""
    return np.stack([gaussian_filter(rng.random((size, size)), 2) for _ in range(count)]).astype(np.float32)


@pytest.fixture
def area(tmp_path):
    """One area's decomposition, registration, selection and spectra files."""
    rng = np.random.default_rng(0)
    wavenumbers = np.linspace(500, 3500, CHANNELS)
    hr_field = smooth_maps(rng, N_COMPONENTS, 4 * LR_SIZE)
    lr_maps = hr_field.reshape(N_COMPONENTS, LR_SIZE, 4, LR_SIZE, 4).mean(axis=(2, 4))
    x, y = map(int, WINDOW_POSITION)
    hr_maps = hr_field[:, y : y + HR_SIZE, x : x + HR_SIZE] + 0.01 * rng.random((N_COMPONENTS, HR_SIZE, HR_SIZE))
    lr_maps[-1] = rng.random((LR_SIZE, LR_SIZE))  # a noise component, rejected
    spectra = np.abs(rng.normal(size=(N_COMPONENTS, CHANNELS))).astype(np.float32)
    paths = {
        "nmf": tmp_path / "nmf.npz",
        "pca": tmp_path / "pca.npz",
        "registration": tmp_path / "registration.json",
        "selection": tmp_path / "selection.json",
        "lowres_spectra": tmp_path / "lowres.npz",
        "highres_spectra": tmp_path / "highres.npz",
    }
    save_npz(
        paths["nmf"],
        lowres_maps=lr_maps,
        highres_maps=hr_maps.astype(np.float32),
        spectra=spectra,
        wavenumbers=wavenumbers,
    )
    save_npz(
        paths["pca"],
        maps=lr_maps - lr_maps.mean(),
        spectra=spectra - spectra.mean(),
        explained_variance_ratio=np.array([0.6, 0.3, 0.1]),
        wavenumbers=wavenumbers,
    )
    components = [{"component": c, "X": x, "Y": y, "peak": 0.9 - 0.3 * c} for c in range(N_COMPONENTS)]
    paths["registration"].write_text(
        json.dumps(
            {
                "components": components,
                "X": x,
                "Y": y,
                "confidence": 0.9,
                "settings": {"factor": 4, "interpolation": "linear"},
            }
        )
    )
    decisions = [
        {"component": c, "lr_snr_db": 20.0, "hr_snr_db": 20.0, "keep": c < N_COMPONENTS - 1}
        for c in range(N_COMPONENTS)
    ]
    settings = {"min_snr_db": 10.0, "low_band": [0.0, 0.1], "noise_band": [0.3, 0.5]}
    paths["selection"].write_text(json.dumps({"components": decisions, "settings": settings}))
    for scan, step in (("lowres", 2.0), ("highres", 0.5)):
        raw = np.exp(-(((wavenumbers - 2900) / 40) ** 2)) * 100 + rng.normal(0, 5, CHANNELS)
        save_npz(
            paths[f"{scan}_spectra"],
            wavenumbers=wavenumbers,
            raw=raw,
            smoothed=gaussian_filter(raw, 2),
            pixel=np.array([6, 6]),
            data_min=np.zeros(CHANNELS),
            data_max=np.ones(CHANNELS),
            pixel_size_um=np.array([step, step]),
        )
    return paths


@pytest.fixture
def dataset(tmp_path, area):
    """pairs.npz, split.csv and name-only checkpoints of the two interpolation baselines."""
    from ramansr.train import train_model

    rng = np.random.default_rng(1)
    n_pairs = 4
    fields = smooth_maps(rng, n_pairs, 4 * LR_SIZE)
    fields = (fields - fields.min(axis=(1, 2), keepdims=True)) / np.ptp(fields, axis=(1, 2), keepdims=True)
    x, y = map(int, WINDOW_POSITION)
    pairs_path, split_path = tmp_path / "pairs.npz", tmp_path / "split.csv"
    save_npz(
        pairs_path,
        lowres=fields.reshape(n_pairs, LR_SIZE, 4, LR_SIZE, 4).mean(axis=(2, 4)),
        highres=fields[:, y : y + HR_SIZE, x : x + HR_SIZE],
        position=np.tile(np.float32(WINDOW_POSITION), (n_pairs, 1)),
        pair_id=np.array([f"S_{i}_c0" for i in range(n_pairs)]),
        factor=np.array(4),
    )
    pd.DataFrame(
        {
            "pair_id": [f"S_{i}_c0" for i in range(n_pairs)],
            "sample": "S",
            "area": [str(i) for i in range(n_pairs)],
            "component": 0,
            "X": x,
            "Y": y,
            "split": ["train", "train", "val", "test"],
        }
    ).to_csv(split_path, index=False)
    checkpoints = {}
    for name in ("linear", "bicubic"):
        train_model(name, pairs_path, split_path, tmp_path / "models" / name, {"epochs": 1}, device="cpu")
        checkpoints[name] = tmp_path / "models" / name / "best.pt"
    return {"pairs": pairs_path, "split": split_path, "checkpoints": checkpoints}


def test_parse_dot_reads_rules_and_edges():
    labels, edges = rulegraph.parse_dot(RULEGRAPH)
    assert sorted(labels.values()) == ["all", "dataset", "evaluate", "tables", "train"]
    assert ("4", "3") in edges and len(edges) == 6


def test_layered_layout_puts_producers_above_consumers():
    labels, edges = rulegraph.parse_dot(RULEGRAPH)
    positions = rulegraph.layered_layout(labels, edges)
    assert all(positions[source][1] > positions[target][1] for source, target in edges)


def test_rulegraph_reads_every_config_file(tmp_path):
    # the first file makes the second valid: with only the last one read, the config check refuses
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("predict: {model: linear, band: [2800.0, 3000.0], scans: {}}\n")
    second.write_text("models: [linear, bicubic]\n")
    repo = Path(__file__).resolve().parents[1]
    dot = rulegraph.rulegraph_dot(repo / "Snakefile", [repo / ".test/config.yaml", first, second], workdir=repo)
    labels, _ = rulegraph.parse_dot(dot)
    assert {"train", "evaluate", "tables"} <= set(labels.values())


@pytest.mark.parametrize("graphviz", [True, False])
def test_rulegraph_figure(tmp_path, monkeypatch, graphviz):
    if not graphviz:
        monkeypatch.setattr(rulegraph.shutil, "which", lambda name: None)
    elif rulegraph.shutil.which("dot") is None:
        pytest.skip("graphviz is not installed")
    paths = figure_paths(tmp_path, "fig1")
    rulegraph.plot_rulegraph(RULEGRAPH, paths)
    assert_figure_written(paths[0])


def test_decomposition_figure(tmp_path, area):
    paths = figure_paths(tmp_path, "fig2")
    plot_decomposition(area["nmf"], area["pca"], area["lowres_spectra"], paths, title="(S, 1)")
    assert_figure_written(paths[0])


def test_registration_figure_shows_kept_components_first(tmp_path, area):
    selection = json.loads(area["selection"].read_text())
    registration = json.loads(area["registration"].read_text())
    assert registration_components(registration, selection) == [0, 1]
    paths = figure_paths(tmp_path, "fig3")
    plot_registration(area["nmf"], area["registration"], area["selection"], area["lowres_spectra"], paths)
    assert_figure_written(paths[0])


@pytest.mark.parametrize("split", ["train", "test"])
def test_examples_figure(tmp_path, area, dataset, split):
    paths = figure_paths(tmp_path, f"examples_{split}")
    plot_examples(dataset["pairs"], dataset["split"], dataset["checkpoints"], area["lowres_spectra"], split, paths)
    assert_figure_written(paths[0])


def test_example_indices_prefer_different_areas():
    table = pd.DataFrame({"sample": ["A"] * 4, "area": ["1", "1", "2", "2"], "split": ["test"] * 4})
    assert example_indices(table, "test", 2) == [0, 2]
    assert example_indices(table, "train", 2) == []


def test_smoothing_figure(tmp_path, area):
    paths = figure_paths(tmp_path, "figS1")
    plot_smoothing(area["lowres_spectra"], area["highres_spectra"], paths)
    assert_figure_written(paths[0])


@pytest.mark.parametrize("scan", ["lowres", "highres"])
def test_fourier_figure(tmp_path, area, scan):
    paths = figure_paths(tmp_path, f"fourier_{scan}")
    plot_fourier_selection([area["nmf"]], [area["selection"]], scan, paths)
    assert_figure_written(paths[0])


def test_fourier_figure_without_rejections(tmp_path, area):
    selection = json.loads(area["selection"].read_text())
    for decision in selection["components"]:
        decision["keep"] = True
    area["selection"].write_text(json.dumps(selection))
    paths = figure_paths(tmp_path, "fourier_all_kept")
    plot_fourier_selection([area["nmf"]], [area["selection"]], "lowres", paths)
    assert_figure_written(paths[0])


def test_radial_profile_of_white_noise_is_flat():
    frequency, power = radial_profile(np.random.default_rng(0).normal(size=(64, 64)))
    assert frequency.max() <= 0.5
    assert np.ptp(np.log10(power[2:])) < 1.0  # within a decade at every ring


def test_training_curves_figure(tmp_path):
    history = tmp_path / "srcnn.csv"
    epochs = np.arange(1, 11)
    pd.DataFrame(
        {
            "epoch": epochs,
            "train_loss": 0.1 / epochs,
            "val_loss": np.where(epochs % 5 == 0, 0.12 / epochs, np.nan),
            "val_psnr": np.where(epochs % 5 == 0, 20 + epochs, np.nan),
        }
    ).to_csv(history, index=False)
    baseline = tmp_path / "linear.csv"
    baseline.write_text("epoch,train_loss,val_loss,val_psnr\n")
    paths = figure_paths(tmp_path, "training_curves")
    plot_training_curves({"linear": baseline, "srcnn": history}, paths)
    assert_figure_written(paths[0])


def test_training_curves_without_trained_models(tmp_path):
    baseline = tmp_path / "linear.csv"
    baseline.write_text("epoch,train_loss,val_loss,val_psnr\n")
    paths = figure_paths(tmp_path, "training_curves")
    plot_training_curves({"linear": baseline}, paths)
    assert_figure_written(paths[0])


def test_save_figure_leaves_no_temporary_files(tmp_path):
    fig, axes = figure_style.new_figure(1, 1)
    axes[0, 0].plot([0, 1], [0, 1])
    paths = figure_paths(tmp_path, "line")
    figure_style.save_figure(fig, paths)
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["line.pdf", "line.png"]


def test_nice_length():
    assert figure_style.nice_length(7.3) == 5.0
    assert figure_style.nice_length(0.26) == 0.2
    assert figure_style.nice_length(1.0) == 1.0
