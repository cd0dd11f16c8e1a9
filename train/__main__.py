"""python -m train: fine-tune a backbone on HAM10000 (split by lesion) and write a complete model folder.

Linear on purpose: data -> model -> fit (best checkpoint by validation AUC, early stopping, resumable)
-> model folder -> evaluation (temperature and threshold from validation, metrics on test) -> card.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from inference.config import HAM10000_COPY_PROCESSING, LABELS, MALIGNANT_LABELS, ModelConfig, default_preprocessing
from inference.preprocess import normalise
from train.augment import AUGMENTATIONS
from train.backbones import GATE_LAYER, GRADCAM_LAYER, build_classifier
from train.callbacks import EpochTimer, ValidationAUC
from train.data import DataError, balanced_sample, load_pixels, read_metadata, read_split, sources, split_by_lesion, write_split
from train.report import work_dir, write_model_folder

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--data-dir", default="data/ham10000", help="HAM10000 folder: HAM10000_metadata.csv and <image_id>.jpg anywhere below it"
    )
    p.add_argument("--backbone", choices=["efficientnet_lite0", "resnet50"], default="efficientnet_lite0")
    p.add_argument("--out", required=True, help="model folder to write (the layout of the Hub model repo)")
    p.add_argument("--image-size", type=int, default=224, help="model input size in pixels")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (Adam)")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant", help="constant (the origin) or warm-up + cosine decay")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument(
        "--sampling",
        choices=["natural", "balanced"],
        default="balanced",
        help="balanced: every malignant training image plus as many benign ones (the origin); natural: all images, class-weighted loss",
    )
    p.add_argument(
        "--target-sensitivity",
        type=float,
        default=0.90,
        help="the shipped threshold is the highest one reaching this sensitivity on validation",
    )
    p.add_argument("--augment", choices=sorted(AUGMENTATIONS), default="origin", help="shift: + light, blur, vignette, tight crops")
    p.add_argument("--colour-constancy", choices=["none", "shades_of_gray"], default="none", help="part of the shared preprocessing")
    p.add_argument(
        "--holdout-source",
        help="out-of-source validation: train and validate without this acquisition source (`dataset` column), "
        "score every image of it, write holdout.json (no model folder)",
    )
    p.add_argument("--originals", help="full-size twins for the twin-consistency check (default: ham10000-originals beside --data-dir)")
    p.add_argument("--patience", type=int, default=3, help="early stopping: epochs without a better validation AUC")
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights instead of ImageNet")
    p.add_argument("--max-steps", type=int, default=0, help="smoke run: stop each epoch after this many batches")
    p.add_argument("--limit", type=int, default=0, help="smoke run: use at most this many images per split")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last epoch checkpoint")
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras progress: 1 bar, 2 one line per epoch")
    p.add_argument("--push", metavar="REPO_ID", help="after training, push the model folder to this Hugging Face Hub repo")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    if not args.resume:
        shutil.rmtree(work_dir(out), ignore_errors=True)
    work = work_dir(out)
    out.mkdir(parents=True, exist_ok=True)

    # --- data
    try:
        records = read_metadata(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    split_file = work / "split.csv"
    split = read_split(split_file) if args.resume and split_file.exists() else split_by_lesion(records, seed=args.seed)
    write_split(split_file, records, split)
    if args.holdout_source and args.holdout_source not in sources(records):
        print(f"error: --holdout-source {args.holdout_source!r} is not one of {', '.join(sources(records))}", file=sys.stderr)
        return 2
    held_out = [r for r in records if args.holdout_source and r.source == args.holdout_source]
    kept = [r for r in records if not (args.holdout_source and r.source == args.holdout_source)]
    by_side = {side: [r for r in kept if split[r.image_id] == side] for side in ("train", "val", "test")}
    train_records = balanced_sample(by_side["train"], args.seed) if args.sampling == "balanced" else by_side["train"]
    rng = np.random.default_rng(args.seed)
    if args.limit:
        train_records, by_side["val"], by_side["test"], held_out = (
            [rs[i] for i in sorted(rng.choice(len(rs), min(args.limit, len(rs)), replace=False))] if rs else rs
            for rs in (train_records, by_side["val"], by_side["test"], held_out)
        )
    log.info(
        "images: train %d (%s sampling), val %d, test %d", len(train_records), args.sampling, len(by_side["val"]), len(by_side["test"])
    )

    keras.utils.set_random_seed(args.seed)
    preprocessing = default_preprocessing(
        args.backbone,
        source_resolution=_training_short_side(train_records),
        source_processing=HAM10000_COPY_PROCESSING,
        colour_constancy=args.colour_constancy,
    )
    started = time.time()
    train_x = load_pixels(train_records, args.image_size, preprocessing)
    val_x = load_pixels(by_side["val"], args.image_size, preprocessing)
    log.info("preprocessed %d images in %.0f s", len(train_x) + len(val_x), time.time() - started)
    train_y = np.array([r.label for r in train_records])
    val_y = np.array([r.label for r in by_side["val"]])

    # --- input pipeline
    n_classes = 7
    counts = np.bincount(train_y, minlength=n_classes)
    if args.sampling == "natural":  # inverse-square-root frequency weights, mean 1 over the training images
        class_weight = 1.0 / np.sqrt(np.maximum(counts, 1))
        class_weight /= (class_weight[train_y]).mean()
    else:
        class_weight = np.ones(n_classes)
    augment = AUGMENTATIONS[args.augment](args.seed)

    def to_model_input(images):
        return normalise(tf.cast(images, tf.float32), preprocessing)

    train_ds = (
        tf.data.Dataset.from_tensor_slices((train_x, tf.one_hot(train_y, n_classes), class_weight[train_y].astype("float32")))
        .shuffle(len(train_x), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
        .map(lambda x, y, w: (to_model_input(augment(tf.cast(x, tf.float32), training=True)), y, w), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if args.max_steps:
        train_ds = train_ds.take(args.max_steps)
    val_ds = tf.data.Dataset.from_tensor_slices(val_x).batch(64).map(to_model_input).prefetch(tf.data.AUTOTUNE)

    # --- model
    # Several GPUs: data-parallel under MirroredStrategy; otherwise the default (CPU or one GPU).
    gpus = tf.config.list_physical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    steps_per_epoch = args.max_steps or int(np.ceil(len(train_x) / args.batch_size))
    lr = args.lr
    if args.schedule == "cosine":
        total = steps_per_epoch * args.epochs
        warmup = max(1, total // 20)
        lr = keras.optimizers.schedules.CosineDecay(args.lr / 10, total - warmup, warmup_target=args.lr, warmup_steps=warmup)
    with strategy.scope():
        model, pretrained = build_classifier(args.backbone, args.image_size, pretrained=not args.no_pretrained)
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=args.label_smoothing),
        )

    # --- fit
    best_weights = work / "best.weights.h5"
    history_csv = work / "history.csv"
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
            timer,
            auc_callback,
            checkpoint,
            keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=args.patience),
            keras.callbacks.CSVLogger(history_csv, append=args.resume),
            keras.callbacks.BackupAndRestore(work / "backup", save_freq="epoch", delete_checkpoint=False),
        ],
    )
    model.load_weights(best_weights)

    config = ModelConfig(
        backbone=args.backbone,
        input_size=args.image_size,
        preprocessing=preprocessing,
        gradcam_layer=GRADCAM_LAYER[args.backbone],
        gate_layer=GATE_LAYER[args.backbone],
        extra={
            "target_sensitivity": args.target_sensitivity,
            "data": {
                "dataset": "HAM10000 (Tschandl et al. 2018, doi:10.1038/sdata.2018.161)",
                "license": "CC BY-NC 4.0",
                "split": f"by lesion_id, stratified by diagnosis, 70/15/15, seed {args.seed}",
                "images": {side: len(rs) for side, rs in by_side.items()},
                "train_images_used": len(train_records),
                "sampling": args.sampling,
            },
            "training": {
                "pretrained": "ImageNet" if pretrained else "none (random initialisation)",
                "image_size": args.image_size,
                "epochs_run": len(auc_callback.history),
                "epochs_max": args.epochs,
                "best_epoch": int(np.argmax(auc_callback.history)) + 1,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "schedule": args.schedule,
                "label_smoothing": args.label_smoothing,
                "augmentation": args.augment,
                "colour_constancy": args.colour_constancy,
                "holdout_source": args.holdout_source or "",
                "max_steps": args.max_steps,
                "limit": args.limit,
                "seconds": round(timer.seconds, 1),
                "images_per_second": round(timer.images_per_second, 2),
                "command": "python -m train " + " ".join(argv if argv is not None else sys.argv[1:]),
            },
        },
    )
    if held_out:
        from train.report import write_holdout_report

        write_holdout_report(model, config, out, records, split, {**by_side, "train": train_records}, held_out)
        return 0
    from train.twins import default_originals_dir

    originals = Path(args.originals) if args.originals else default_originals_dir(args.data_dir)
    write_model_folder(model, config, out, records, split, {**by_side, "train": train_records}, originals)
    if args.push:
        from train.push import PushError, push_model_folder

        try:
            push_model_folder(out, args.push)
        except PushError as error:
            log.error("%s is complete but was not pushed: %s (retry: python -m train.push %s %s)", out, error, out, args.push)
            return 1
    return 0


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
