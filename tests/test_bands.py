"""The shared Raman bands: the config's default prediction band is the package's CH band."""

from pathlib import Path

import yaml

from ramansr.bands import CH_BAND

ROOT = Path(__file__).resolve().parents[1]


def test_default_config_checks_predictions_at_the_ch_band():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert tuple(config["predict"]["band"]) == CH_BAND
