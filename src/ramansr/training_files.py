"""A training run's files: the resume files, whether to resume from them, and the finished run's outputs."""

import csv
import hashlib
import shutil
import sys

from ramansr.checkpoint import read_checkpoint, save_checkpoint
from ramansr.io_utils import atomic_path

# Changing these between a kill and the rerun still gives a sound run; anything else must match to resume.
# (Not epochs under the cosine schedule: the epoch count sets the whole decay.)
RESUMABLE_CHANGES = ("epochs", "val_every", "checkpoint_every")

# The resume files (undeclared) and the declared outputs, in ``out_dir``.
LAST_CHECKPOINT, BEST_SO_FAR = "last.pt", "best_so_far.pt"
BEST_CHECKPOINT, HISTORY = "best.pt", "history.csv"

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_psnr")
SRGAN_COLUMNS = ("adversarial_loss", "discriminator_loss")


def write_history(history, path, columns=HISTORY_COLUMNS):
    """One CSV row per epoch; metrics not measured that epoch stay blank."""
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})


def input_fingerprint(*paths):
    """SHA-256 of the files a run learns from (None entries skipped), to tell whether a checkpoint fits them."""
    digest = hashlib.sha256()
    for path in paths:
        if path is not None:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def resume_state(out_dir, settings, fingerprint):
    """The ``last.pt`` state to continue from, or None.

    A checkpoint written from other data or with other settings (beyond
    ``RESUMABLE_CHANGES``) is not resumed: the run starts afresh, as a
    rerun after changed data or config must. Nor is a finished one (its
    epoch reaches ``epochs``): training is only asked for again when its
    outputs were removed or a retrain forced, and resuming would train nothing.
    """
    path = out_dir / LAST_CHECKPOINT
    if not path.exists():
        return None
    state = read_checkpoint(path)
    resumable = [key for key in RESUMABLE_CHANGES if settings["schedule"] == "constant" or key != "epochs"]
    differing = sorted(key for key in settings if key not in resumable and state["settings"].get(key) != settings[key])
    if state.get("inputs") != fingerprint:
        differing.append("training data")
    if differing:
        reason = f"was written with other {', '.join(differing)}"
    elif state["epoch"] >= settings["epochs"]:
        reason = f"has finished all {state['epoch']} epochs (a retrain was asked for)"
    elif state["best_epoch"] is not None and not (out_dir / BEST_SO_FAR).exists():
        reason = f"has no {BEST_SO_FAR} beside it"
    else:
        return state
    print(f"{path} {reason}: starting afresh", file=sys.stderr)
    return None


def record_validation(run, row, out_dir):
    """Keep the run's weights in ``best_so_far.pt`` when ``row``'s validation PSNR is the best yet."""
    if row["val_psnr"] > run.best_val_psnr:
        run.best_val_psnr, run.best_epoch = row["val_psnr"], row["epoch"]
        save_checkpoint(run.state(), out_dir / BEST_SO_FAR)


def publish(run, out_dir, columns):
    """Write the declared outputs of a finished run: best.pt, then history.csv.

    ``best_so_far.pt`` is copied, not moved, so that a later run with more
    epochs can still continue this one.
    """
    if run.best_epoch is None:
        # nothing to select by (no val pairs): the best model is the latest one
        save_checkpoint(run.state(), out_dir / BEST_CHECKPOINT)
    else:
        with atomic_path(out_dir / BEST_CHECKPOINT) as temporary:
            shutil.copyfile(out_dir / BEST_SO_FAR, temporary)
    write_history(run.history, out_dir / HISTORY, columns)
