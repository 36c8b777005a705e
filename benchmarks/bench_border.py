"""The frame round super-resolved maps, before and after the border fix, and the Wiener baseline against bicubic.

A synthetic case with a known answer, the simulator's optics: specimens (smoothed noise, features of
about 2 um) seen through the LR objective (NA 0.5, 488 nm) point-sampled at 2 um give the LR maps;
through the HR objective (NA 0.8) at 0.5 um the truth (SR factor 4). SRCNN (the default 64-32
layout, no bicubic skip) trains briefly on CPU, its loss, as in the pipeline, on an HR window
inside the map, once with zero padding (before) and once with the border continued (after).
Every model is then scored on held-out maps: the frame (:func:`ramansr.metrics.frame`, border
strip minus the strip inside it beyond bicubic, mean over the four sides, in the LR map's range),
the worst side's gap, and the PSNR against the truth over the whole map and inside its outer
two LR pixels.

Run: ``PYTHONPATH=src python benchmarks/bench_border.py`` (about 2-3 minutes on 2 shared cores).
"""

import argparse
import time

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio

from ramansr.inference import super_resolve, use_threads
from ramansr.metrics import border_gaps, frame
from ramansr.models import build
from ramansr.optics import airy_otf, blur

FACTOR, LOWRES, FINE_STEP_UM = 4, 24, 0.25
OPTICS = {"lowres_step_um": 2.0, "lowres_na": 0.5, "highres_na": 0.8, "excitation_nm": 488.0}


def synthetic_pairs(n, seed):
    """LR maps (n, 24, 24) and their truth (n, 96, 96), both on the LR map's [0, 1] scale."""
    rng = np.random.default_rng(seed)
    size = 8 * LOWRES + 16  # fine pixels: 8 per LR step, 2 per HR step, and a margin for the PSF
    lowres, truth = [], []
    for _ in range(n):
        specimen = gaussian_filter(rng.random((size, size)), 8)
        seen = {
            na: blur(specimen, airy_otf(specimen.shape, FINE_STEP_UM, OPTICS["excitation_nm"] / 1e3, na))
            for na in (OPTICS["lowres_na"], OPTICS["highres_na"])
        }
        # LR point p at HR pixel 4 p + 1.5 (half-pixel alignment): fine pixel 8 p + 3
        low_map = seen[OPTICS["lowres_na"]][3::8, 3::8][:LOWRES, :LOWRES]
        high_map = seen[OPTICS["highres_na"]][::2, ::2][: FACTOR * LOWRES, : FACTOR * LOWRES]
        low, high = low_map.min(), low_map.max()
        lowres.append((low_map - low) / (high - low))
        truth.append((high_map - low) / (high - low))
    return np.array(lowres, np.float32), np.array(truth, np.float32)


def train_srcnn(padding_mode, lowres, truth, steps, seed=0):
    """SRCNN trained on the HR window two LR pixels inside each map, as the pipeline's windows lie inside theirs."""
    torch.manual_seed(seed)
    model = build("srcnn", padding_mode=padding_mode, scaling_factor=FACTOR)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    inside = slice(2 * FACTOR, -2 * FACTOR)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        batch = rng.choice(len(lowres), 8, replace=False)
        output = model(torch.from_numpy(lowres[batch, None]))[..., inside, inside]
        loss = torch.nn.functional.mse_loss(output, torch.from_numpy(truth[batch, None])[..., inside, inside])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="SRCNN training steps (batch 8)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    use_threads(args.threads)
    started = time.perf_counter()
    train_lowres, train_truth = synthetic_pairs(48, seed=0)
    test_lowres, test_truth = synthetic_pairs(16, seed=1)
    bicubic = super_resolve(build("bicubic", scaling_factor=FACTOR), test_lowres)
    models = {
        "bicubic": build("bicubic", scaling_factor=FACTOR),
        "wiener (balance 0.3)": build("wiener", **OPTICS, balance=0.3, scaling_factor=FACTOR),
    }
    for padding_mode, label in (("zeros", "before"), ("replicate", "after")):
        name = f"srcnn {args.steps} steps, {'zero padding' if label == 'before' else 'border continued'} ({label})"
        models[name] = train_srcnn(padding_mode, train_lowres, train_truth, args.steps)
    inside = slice(2 * FACTOR, -2 * FACTOR)
    print(f"{len(test_lowres)} held-out maps of {LOWRES} x {LOWRES} LR pixels, SR factor {FACTOR}\n")
    print("| model | frame | worst side | PSNR (dB) | PSNR inside (dB) |")
    print("|---|---|---|---|---|")
    for name, model in models.items():
        with torch.no_grad():
            upscaled = super_resolve(model, test_lowres)
        frames = [frame(up, bic, FACTOR) for up, bic in zip(upscaled, bicubic, strict=True)]
        sides = [border_gaps(up, FACTOR) - border_gaps(bic, FACTOR) for up, bic in zip(upscaled, bicubic, strict=True)]
        worst = np.mean(sides, axis=0)[np.argmax(np.abs(np.mean(sides, axis=0)))]
        psnr = np.mean(
            [peak_signal_noise_ratio(t, u, data_range=1.0) for t, u in zip(test_truth, upscaled, strict=True)]
        )
        psnr_inside = np.mean(
            [
                peak_signal_noise_ratio(t[inside, inside], u[inside, inside], data_range=1.0)
                for t, u in zip(test_truth, upscaled, strict=True)
            ]
        )
        print(f"| {name} | {np.mean(frames):+.4f} | {worst:+.4f} | {psnr:.2f} | {psnr_inside:.2f} |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
