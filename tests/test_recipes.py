"""`python -m train` with no recipe flag trains the shipped recipe; `--recipe origin` the origin's."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from train.__main__ import parse_args

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = json.loads((ROOT / "models" / "skin-lesion-lite0" / "config.json").read_text())
ORIGIN_CONFIG = json.loads((ROOT / "results" / "models" / "resnet50-origin-128" / "config.json").read_text())


def as_recorded(args) -> dict:
    """The parsed flags under the names config.json records them with."""
    return {"backbone": args.backbone, "input_size": args.image_size, "tta": args.tta, "target_sensitivity": args.target_sensitivity,
            "sampling": args.sampling, "epochs_max": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "schedule": args.schedule, "label_smoothing": args.label_smoothing, "augmentation": args.augment,
            "colour_constancy": args.colour_constancy, "ema": args.ema, "head_epochs": args.head_epochs,
            "source_weights": args.source_weights}


ALL_KEYS = ("epochs_max", "batch_size", "lr", "schedule", "label_smoothing", "augmentation", "colour_constancy", "ema", "head_epochs",
            "source_weights")


def recorded(config: dict, keys: tuple[str, ...] = ALL_KEYS) -> dict:
    """What a model's config.json records of its recipe (`keys` of its training record)."""
    return {"backbone": config["backbone"], "input_size": config["input_size"], "tta": config["tta"],
            "target_sensitivity": config["target_sensitivity"], "sampling": config["data"]["sampling"],
            **{key: config["training"][key] for key in keys}}


def test_the_defaults_are_the_bundled_models_recipe():
    assert as_recorded(parse_args(["--data-dir", "d", "--out", "o"])) == recorded(SHIPPED_CONFIG)


def test_the_bundled_models_own_command_gives_the_same_flags_as_the_defaults():
    """Its recorded command spells every flag out; with the defaults being the recipe, none of them changes anything."""
    argv = shlex.split(SHIPPED_CONFIG["training"]["command"])[3:]
    assert as_recorded(parse_args(argv)) == as_recorded(parse_args(["--data-dir", "d", "--out", "o"]))


def test_the_origin_preset_is_the_origins_recorded_run_but_for_its_size_and_patience():
    """The origin's run (results/models/resnet50-origin-128) ran at 128 px with patience 10 for lack of time; it predates the
    records of the later options, and its augmentation (`origin`) is recorded in words."""
    args = as_recorded(parse_args(["--recipe", "origin", "--data-dir", "d", "--out", "o", "--image-size", "128"]))
    expected = recorded(ORIGIN_CONFIG, ("epochs_max", "batch_size", "lr", "schedule", "label_smoothing"))
    assert {key: args[key] for key in expected} == expected
    assert args["augmentation"] == "origin"


def test_a_flag_overrides_the_recipe():
    args = parse_args(["--recipe", "origin", "--out", "o", "--lr", "2e-4", "--tta"])
    assert (args.backbone, args.lr, args.tta) == ("resnet50", 2e-4, True)
