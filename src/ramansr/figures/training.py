"""The training curves: per trained model, the losses and the validation PSNR against the epoch."""

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ramansr.figure_style import KEPT_COLOR, message_panel, new_figure, save_figure
from ramansr.figures import model_label


def plot_training_curves(history_paths, out_paths):
    """Training curves: per trained model, the losses (top) and the validation PSNR (bottom).

    Parameters
    ----------
    history_paths : dict
        Model name -> ``history.csv`` (columns epoch, train_loss, val_loss,
        val_psnr); the baselines' empty histories are left out.
    out_paths : sequence of path-like
    """
    histories = {name: pd.read_csv(path) for name, path in history_paths.items()}
    histories = {name: history for name, history in histories.items() if len(history)}
    if not histories:
        fig, axes = new_figure(1, 1, panel_size=(6, 1.5))
        message_panel(axes[0, 0], "No trained model in this run (only interpolation baselines).")
        save_figure(fig, out_paths)
        return
    fig, axes = new_figure(2, len(histories), panel_size=(3.4, 2.6), sharex="col")
    for column, (name, history) in enumerate(histories.items()):
        plot_losses(axes[0, column], history, model_label(name))
        plot_validation_psnr(axes[1, column], history)
        axes[1, column].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Training: loss per epoch (top) and validation PSNR (bottom)")
    save_figure(fig, out_paths)


def plot_losses(ax, history, title):
    """Train and validation MSE against epoch, log scale."""
    ax.plot(history["epoch"], history["train_loss"], color=KEPT_COLOR, label="train")
    validated = history.dropna(subset=["val_loss"])
    ax.plot(validated["epoch"], validated["val_loss"], color="tab:orange", marker="o", markersize=3, label="val")
    if spans_a_decade(pd.concat([history["train_loss"], validated["val_loss"]])):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_ylabel("loss (MSE)")
    ax.legend(frameon=False)


def spans_a_decade(values):
    """Whether positive values range over at least a factor of ten (then a log axis helps)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() >= 10 * values.min()


def plot_validation_psnr(ax, history):
    """Validation PSNR against epoch, or a note when the run had no validation pairs."""
    validated = history.dropna(subset=["val_psnr"])
    if validated.empty:
        ax.text(0.5, 0.5, "not validated", ha="center", va="center", transform=ax.transAxes)
    ax.plot(validated["epoch"], validated["val_psnr"], color="tab:orange", marker="o", markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("val PSNR (dB)")
