"""python -m train: fine-tune a backbone on dermoscopy archives (split by lesion) and write a complete model folder.

The recipe, top to bottom in `main`: data (split by lesion, optionally without one acquisition source) ->
preprocessing (shared with serving) -> fit (best checkpoint by validation AUC, early stopping, resumable) ->
calibration on validation (temperature, threshold) -> either the out-of-source report, or the model folder (score
the test split once -> gate -> twins -> metrics, plots, card; `train.report.write_model_folder`) -> push.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from inference.config import HAM10000_COPY_PROCESSING, LABELS, MALIGNANT_LABELS, ModelConfig, Preprocessing, default_preprocessing
from inference.preprocess import normalise
from train.augment import AUGMENTATIONS
from train.backbones import GATE_LAYER, GRADCAM_LAYER, HEAD_LAYERS, build_classifier
from train.callbacks import EpochTimer, ValidationAUC
from train.data import (
    ARCHIVES,
    DataError,
    Record,
    archive_equalising_weights,
    archives,
    balanced_sample,
    load_pixels,
    read_metadata,
    read_split,
    sides,
    source_decorrelating_weights,
    sources,
    split_by_lesion,
    write_split,
)
from train.distribute import STRATEGIES, is_chief, make_strategy
from train.recipes import RECIPES
from train.report import calibrate_model_folder, work_dir, write_holdout_report, write_model_folder
from train.twins import default_originals_dir

log = logging.getLogger("train")

HEAD_LR = 1e-3  # --head-epochs: constant Adam learning rate of the head-only phase


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help keeps the description's lines and shows each flag's default (the chosen recipe's)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The defaults are the shipped recipe (`train.recipes.SHIPPED`); `--recipe origin` starts from the origin's
    instead; any flag given overrides the recipe's value."""
    recipe = argparse.ArgumentParser(add_help=False)
    recipe.add_argument("--recipe", choices=sorted(RECIPES), default="shipped",
                        help="the defaults of the flags below: shipped (the bundled model) or origin (the project's origin: ResNet50)")
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__, formatter_class=HelpFormatter, parents=[recipe])
    p.add_argument(
        "--data-dir", nargs="+", default=["data/ham10000"],
        help="one or more archive folders (HAM10000: HAM10000_metadata.csv; ISIC 2017: labels.csv), <image_id>.jpg anywhere "
        "below each; all are read into one table and split by lesion within each archive",
    )
    p.add_argument("--backbone", choices=sorted(GRADCAM_LAYER), help="ImageNet-pretrained network")
    p.add_argument("--out", required=True, help="model folder to write (the layout of the Hub model repo)")
    p.add_argument("--image-size", type=int, help="model input size in pixels")
    p.add_argument("--epochs", type=int, help="at most this many epochs (early stopping may end sooner)")
    p.add_argument("--batch-size", type=int, help="images per step")
    p.add_argument("--lr", type=float, help="peak learning rate (Adam)")
    p.add_argument("--schedule", choices=["constant", "cosine"], help="constant (the origin) or warm-up + cosine decay")
    p.add_argument("--label-smoothing", type=float, help="of the cross-entropy targets")
    p.add_argument("--sampling", choices=["natural", "balanced"],
                   help="balanced: every malignant training image plus as many benign ones (the origin); natural: all images, "
                        "class-weighted loss")
    p.add_argument("--target-sensitivity", type=float,
                   help="calibration: the shipped threshold is the highest one reaching this sensitivity on validation")
    p.add_argument("--augment", choices=sorted(AUGMENTATIONS),
                   help="origin: flips, turns, zoom, brightness; shift: + light, blur, vignette, tight crops; illumination, crops: "
                        "one of those pieces; device: origin + blur, sharpening, JPEG quality, vignette")
    p.add_argument("--colour-constancy", choices=["none", "shades_of_gray"], help="part of the shared preprocessing")
    p.add_argument(
        "--holdout-source",
        help="out-of-source validation: train and validate without this acquisition source (`dataset` column), "
        "score every image of it, write holdout.json (no model folder)",
    )
    p.add_argument("--originals", help="full-size twins for the twin-consistency check (default: ham10000-originals beside --data-dir)")
    p.add_argument("--source-weights", choices=["none", "decorrelate"], default="none",
                   help="decorrelate: weight images by P(malignant) / P(malignant | acquisition source), so that the look "
                        "of a source (MoleMax photos are nearly all nevi) is no evidence for the label")
    p.add_argument("--archive-weights", choices=["none", "equal"], default="none",
                   help="equal: weight images so that every archive (HAM10000, ISIC 2017) carries the same total weight")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction,
                   help="serve with test-time augmentation (flips and turns averaged); scored both ways on validation")
    p.add_argument("--ema", type=float, default=0.0,
                   help="keep an exponential moving average of the weights with this momentum (0: off); validation, "
                        "checkpoints and the shipped model use the averaged weights")
    p.add_argument("--head-epochs", type=int, default=0,
                   help="first train only the head on the frozen ImageNet features for this many epochs (LP-FT), then everything")
    p.add_argument("--patience", type=int, help="early stopping: epochs without a better validation AUC")
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights instead of ImageNet")
    p.add_argument("--max-steps", type=int, default=0, help="smoke run: stop each epoch after this many batches")
    p.add_argument("--limit", type=int, default=0, help="smoke run: use at most this many images per split")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last epoch checkpoint")
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras progress: 1 bar, 2 one line per epoch")
    p.add_argument("--push", metavar="REPO_ID", help="after training, push the model folder to this Hugging Face Hub repo")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto",
                   help="auto: all GPUs of this machine when there are several, else one device; mirrored: all GPUs "
                        "(MirroredStrategy); multi_worker: one process per machine, cluster in TF_CONFIG (docs/training.md); "
                        "--batch-size is the global batch, split across replicas")
    p.add_argument("--cpu-replicas", type=int, default=0,
                   help="with --strategy mirrored and no GPU: mirror over this many logical CPUs (tests the distributed path)")
    p.set_defaults(**RECIPES[recipe.parse_known_args(argv)[0].recipe])
    return p.parse_args(argv)


@dataclass
class Data:
    """The images of a run: the lesion split, what each side holds, and an out-of-source set."""

    records: list[Record]
    split: dict[str, str]
    by_side: dict[str, list[Record]]  # "train" holds the images actually trained on (after sampling)
    held_out: list[Record]
    split_sizes: dict[str, int]  # images per side of the split, before sampling
    archive_sizes: dict[str, dict[str, int]]  # the same per archive


def load_data(args: argparse.Namespace, work: Path) -> Data:
    """Metadata, the lesion split (kept across --resume), the held-out source, sampling and smoke-run limits."""
    records = read_metadata(args.data_dir)
    split_file = work / "split.csv"
    split = read_split(split_file) if args.resume and split_file.exists() else split_by_lesion(records, seed=args.seed)
    write_split(split_file, records, split)
    if args.holdout_source and args.holdout_source not in sources(records):
        raise DataError(f"--holdout-source {args.holdout_source!r} is not one of {', '.join(sources(records))}")
    held_out = [r for r in records if args.holdout_source and r.source == args.holdout_source]
    kept = [r for r in records if not (args.holdout_source and r.source == args.holdout_source)]
    by_side = sides(kept, split)
    split_sizes = {side: len(rs) for side, rs in by_side.items()}
    archive_sizes = {a: {side: sum(r.archive == a for r in rs) for side, rs in by_side.items()} for a in archives(kept)}
    if args.sampling == "balanced":
        by_side["train"] = balanced_sample(by_side["train"], args.seed)
    if args.limit:
        rng = np.random.default_rng(args.seed)
        by_side = {side: _subset(rs, args.limit, rng) for side, rs in by_side.items()}
        held_out = _subset(held_out, args.limit, rng)
    log.info("images: train %d (%s sampling), val %d, test %d, held out %d", len(by_side["train"]), args.sampling,
             len(by_side["val"]), len(by_side["test"]), len(held_out))
    return Data(records, split, by_side, held_out, split_sizes, archive_sizes)


def fit(args: argparse.Namespace, data: Data, preprocessing: Preprocessing, work: Path,
        strategy: tf.distribute.Strategy) -> tuple[keras.Model, dict]:
    """Fine-tune the backbone under `strategy`; the best epoch by validation AUC is kept. Returns the model and what
    the run did."""
    train_records, val_records = data.by_side["train"], data.by_side["val"]
    started = time.time()
    train_x = load_pixels(train_records, args.image_size, preprocessing)
    val_x = load_pixels(val_records, args.image_size, preprocessing)
    log.info("preprocessed %d images in %.0f s", len(train_x) + len(val_x), time.time() - started)
    train_y = np.array([r.label for r in train_records])
    val_y = np.array([r.label for r in val_records])

    # Input pipeline: augmentation on 0..255 pixels, then the backbone's normalisation.
    n_classes = len(LABELS)
    counts = np.bincount(train_y, minlength=n_classes)
    if args.sampling == "natural":  # inverse-square-root frequency weights, mean 1 over the training images
        class_weight = 1.0 / np.sqrt(np.maximum(counts, 1))
        class_weight /= (class_weight[train_y]).mean()
    else:
        class_weight = np.ones(n_classes)
    weights = class_weight[train_y]
    if args.source_weights == "decorrelate":
        weights = weights * source_decorrelating_weights(train_records)
        weights /= weights.mean()
    if args.archive_weights == "equal":
        weights = weights * archive_equalising_weights(train_records)
        weights /= weights.mean()
    augment = AUGMENTATIONS[args.augment](args.seed)

    def to_model_input(images):
        return normalise(tf.cast(images, tf.float32), preprocessing)

    train_ds = (
        tf.data.Dataset.from_tensor_slices((train_x, tf.one_hot(train_y, n_classes), weights.astype("float32")))
        .shuffle(len(train_x), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
        .map(lambda x, y, w: (to_model_input(augment(tf.cast(x, tf.float32), training=True)), y, w), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if args.max_steps:
        train_ds = train_ds.take(args.max_steps)
    val_ds = tf.data.Dataset.from_tensor_slices(val_x).batch(64).map(to_model_input).prefetch(tf.data.AUTOTUNE)

    # Model: built under the run's strategy (train/distribute.py), data-parallel when it has several replicas.
    log.info("strategy: %s, %d replica(s)", type(strategy).__name__, strategy.num_replicas_in_sync)
    steps_per_epoch = args.max_steps or int(np.ceil(len(train_x) / args.batch_size))
    lr = args.lr
    if args.schedule == "cosine":
        total = steps_per_epoch * args.epochs
        warmup = max(1, total // 20)
        lr = keras.optimizers.schedules.CosineDecay(args.lr / 10, total - warmup, warmup_target=args.lr, warmup_steps=warmup)
    best_weights = work / "best.weights.h5"
    history_csv = work / "history.csv"
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=args.label_smoothing)
    with strategy.scope():
        model, pretrained = build_classifier(args.backbone, args.image_size, pretrained=not args.no_pretrained)
        head_seconds = 0.0
        if args.head_epochs and not (args.resume and history_csv.exists()):  # a resumed run restores the later phase
            head_seconds = fit_head(model, train_ds, args.head_epochs, loss, args.verbose)
        model.compile(optimizer=keras.optimizers.Adam(lr, use_ema=args.ema > 0, ema_momentum=args.ema or 0.99), loss=loss)

    # Fit: checkpoint the best epoch, stop early, resumable after a crash.
    auc_callback = ValidationAUC(val_ds, val_y, ModelConfig.malignant_mask_of(LABELS, MALIGNANT_LABELS))
    checkpoint = keras.callbacks.ModelCheckpoint(best_weights, monitor="val_auc", mode="max", save_best_only=True, save_weights_only=True)
    if args.resume and history_csv.exists():
        checkpoint.best = _best_so_far(history_csv)
    timer = EpochTimer(len(train_x) if not args.max_steps else args.max_steps * args.batch_size)
    model.fit(
        train_ds,
        epochs=args.epochs,
        verbose=args.verbose,
        shuffle=False,  # the dataset shuffles itself
        callbacks=[
            *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if args.ema > 0 else []),  # first: the others see EMA weights
            timer,
            auc_callback,
            checkpoint,
            keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=args.patience),
            keras.callbacks.CSVLogger(history_csv, append=args.resume),
            keras.callbacks.BackupAndRestore(work / "backup", save_freq="epoch", delete_checkpoint=False),
        ],
    )
    model.load_weights(best_weights)
    return model, {
        "pretrained": "ImageNet" if pretrained else "none (random initialisation)",
        "epochs_run": len(auc_callback.history),
        "best_epoch": int(np.argmax(auc_callback.history)) + 1,
        "seconds": round(timer.seconds + head_seconds, 1),
        "images_per_second": round(timer.images_per_second, 2),
    }


def fit_head(model: keras.Model, train_ds: tf.data.Dataset, epochs: int, loss: keras.losses.Loss, verbose: int) -> float:
    """Linear probing before fine-tuning (LP-FT, Kumar et al. 2022): fit only the head on the frozen ImageNet
    features, so that a random head's early gradients do not distort features that might hold up on other
    clinics. Returns the seconds it took."""
    body = [layer for layer in model.layers if layer.name not in HEAD_LAYERS]
    for layer in body:
        layer.trainable = False  # frozen batch normalisation also keeps its ImageNet statistics
    model.compile(optimizer=keras.optimizers.Adam(HEAD_LR), loss=loss)
    started = time.time()
    model.fit(train_ds, epochs=epochs, verbose=verbose, shuffle=False)
    seconds = time.time() - started
    for layer in body:
        layer.trainable = True
    log.info("head-only phase: %d epochs in %.0f s", epochs, seconds)
    return seconds


def run_config(args: argparse.Namespace, argv: list[str] | None, preprocessing: Preprocessing, data: Data, run: dict) -> ModelConfig:
    """config.json before calibration: how to serve the model, and a record of the data and the run."""
    used = [a for a in ARCHIVES if a.name in archives(data.records)]
    return ModelConfig(
        backbone=args.backbone,
        input_size=args.image_size,
        preprocessing=preprocessing,
        gradcam_layer=GRADCAM_LAYER[args.backbone],
        gate_layer=GATE_LAYER[args.backbone],
        tta=args.tta,
        extra={
            "target_sensitivity": args.target_sensitivity,
            "data": {
                "dataset": "; ".join(f"{a.name} ({a.citation})" for a in used),
                "license": "; ".join(f"{a.name}: {a.license}" for a in used),
                "split": f"by lesion_id, stratified by diagnosis within each archive, 70/15/15, seed {args.seed}",
                "images": data.split_sizes,
                "images_by_archive": data.archive_sizes,
                "train_images_used": len(data.by_side["train"]),
                "sampling": args.sampling,
            },
            "training": {
                "pretrained": run["pretrained"],
                "image_size": args.image_size,
                "epochs_run": run["epochs_run"],
                "epochs_max": args.epochs,
                "best_epoch": run["best_epoch"],
                "batch_size": args.batch_size,
                "lr": args.lr,
                "schedule": args.schedule,
                "label_smoothing": args.label_smoothing,
                "ema": args.ema,
                "head_epochs": args.head_epochs,
                "source_weights": args.source_weights,
                "archives": [a.name for a in used],
                "archive_weights": args.archive_weights,
                "augmentation": args.augment,
                "colour_constancy": args.colour_constancy,
                "holdout_source": args.holdout_source or "",
                "max_steps": args.max_steps,
                "limit": args.limit,
                "seconds": run["seconds"],
                "images_per_second": run["images_per_second"],
                "date": datetime.date.today().isoformat(),
                "command": "python -m train " + " ".join(argv if argv is not None else sys.argv[1:]),
            },
        },
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    strategy = make_strategy(args.strategy, args.cpu_replicas)  # first: multi-worker collectives precede any TensorFlow work
    chief = is_chief()
    # A multi-worker run's other workers train alongside the chief and write only scratch files (checkpoints) of their own.
    out = Path(args.out) if chief else Path(tempfile.mkdtemp(prefix="train-worker-")) / Path(args.out).name
    if not args.resume:
        shutil.rmtree(work_dir(out), ignore_errors=True)
    work = work_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # 1. Data: every archive in one table, split by lesion.
    try:
        data = load_data(args, work)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # 2. The one preprocessing of training and serving (uploads larger than the training copy are made like it).
    preprocessing = default_preprocessing(
        args.backbone,
        source_resolution=_training_short_side(data.by_side["train"]),
        source_processing=HAM10000_COPY_PROCESSING,
        colour_constancy=args.colour_constancy,
    )
    # 3. Fit.
    model, run = fit(args, data, preprocessing, work, strategy)
    if not chief:
        return 0
    if args.strategy == "multi_worker":  # the chief evaluates and saves alone: a copy outside the cluster's collectives
        model = local_copy(model)
    config = run_config(args, argv, preprocessing, data, run)
    # 4. Calibration on validation, through the served forward pass: the temperature, then the threshold that reaches
    #    --target-sensitivity (config.json). An out-of-source run calibrates without TTA and scores both ways.
    calibrated = calibrate_model_folder(model, config, out, data.records, data.split, data.by_side["val"],
                                        tta=False if data.held_out else None)
    if data.held_out:  # an out-of-source run stops here: score the held-out source
        write_holdout_report(calibrated, out, data.by_side, data.held_out)
        return 0
    # 5. The model folder: score the test split once, fit the gate, twins, metrics, plots, card.
    originals = Path(args.originals) if args.originals else default_originals_dir(args.data_dir[0])
    write_model_folder(calibrated, out, data.records, data.by_side, originals)
    # 6. Publish.
    if args.push:
        from train.push import PushError, push_model_folder

        try:
            push_model_folder(out, args.push)
        except PushError as error:
            log.error("%s is complete but was not pushed: %s (retry: python -m train.push %s %s)", out, error, out, args.push)
            return 1
    return 0


def local_copy(model: keras.Model) -> keras.Model:
    """The trained model with its weights, built outside any distribution strategy."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _subset(records: list[Record], limit: int, rng: np.random.Generator) -> list[Record]:
    """A smoke run's random subset (order kept)."""
    if len(records) <= limit:
        return records
    return [records[i] for i in sorted(rng.choice(len(records), limit, replace=False))]


def _training_short_side(records) -> int:
    """The training images' short side (px): the level of detail that serving brings uploads down to."""
    from PIL import Image

    sides = [min(Image.open(r.path).size) for r in records[:50]]
    return int(np.median(sides))


def _best_so_far(history_csv: Path) -> float:
    import csv

    with history_csv.open() as handle:
        values = [float(row["val_auc"]) for row in csv.DictReader(handle) if row.get("val_auc")]
    return max(values, default=-np.inf)


if __name__ == "__main__":
    sys.exit(main())
