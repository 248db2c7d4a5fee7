"""Helpers shared by the vision commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default=None, help="config.yaml (default: built-in)")


def load_or_exit(args: argparse.Namespace):
    """The config, or a printed error and exit code 2 via SystemExit."""
    from kiosk.config import ConfigError, load_config

    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def with_model(loaded, model: str | None):
    """A copy of the config with the classifier model swapped for ``--model``."""
    if not model:
        return loaded
    from dataclasses import replace

    cfg = loaded.config.model_copy(deep=True)
    cfg.vision.classifier.model = str(Path(model).resolve())
    return replace(loaded, config=cfg)


def build_pipeline_or_exit(loaded):
    from kiosk.vision.runtime import ModelError, RuntimeUnavailable

    try:
        from kiosk.vision.pipeline import Pipeline

        return Pipeline.from_config(loaded)
    except (ModelError, RuntimeUnavailable) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
