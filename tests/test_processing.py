from pathlib import Path

import yaml

from ramansr.processing import PROCESSING_SETTINGS, processing_settings


def test_processing_settings_read_the_config_sections():
    config = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
    settings = processing_settings(config)
    assert set(settings) == set(PROCESSING_SETTINGS)
    assert settings["window_length"] == config["preprocess"]["window_length"]
    assert settings["n_components"] == config["decompose"]["n_components"]
    assert settings["despike"] == config["preprocess"]["despike"]
