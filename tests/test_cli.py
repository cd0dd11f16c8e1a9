"""The batch CLI `python -m inference`: one CSV row per file, errors as rows, exit code, Grad-CAM PNGs."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from inference import DISCLAIMER, ImageRejected
from inference.__main__ import COLUMNS, classify, find_images, main, overlay_name, result_row, spreadsheet_safe
from inference.config import LABELS, MALIGNANT_LABELS

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300  # s per CLI run


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)


def rows_of(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def photos(data_dir) -> list[Path]:
    return sorted((data_dir / "images").glob("ISIC_*.jpg"))[:3]


@pytest.fixture
def mixed_folder(tmp_path, photos) -> Path:
    """Two photos at the top, one photo, a truncated JPEG and a text file in a subfolder."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(photos[0], folder / "a.jpg")
    shutil.copy(photos[1], folder / "b.JPG")
    shutil.copy(photos[2], folder / "sub" / "a.jpg")  # same stem as the first: overlay names must not clash
    (folder / "sub" / "broken.jpg").write_bytes(photos[0].read_bytes()[:1000])
    (folder / "sub" / "notes.txt").write_text("not an image, not picked up from a folder")
    return folder


def test_the_columns_are_the_documented_ones():
    assert COLUMNS == ["path", "p_malignant", "decision", "malignant", "threshold",
                       "p_nv", "p_bkl", "p_df", "p_vasc", "p_mel", "p_bcc", "p_akiec",
                       "warning", "error"]


def test_find_images_recurses_by_extension_and_keeps_named_files(mixed_folder):
    named = mixed_folder / "sub" / "notes.txt"
    found = find_images([str(mixed_folder), str(named), str(mixed_folder / "a.jpg")])
    assert [p.relative_to(mixed_folder).as_posix() for p in found] == ["a.jpg", "b.JPG", "sub/a.jpg", "sub/broken.jpg", "sub/notes.txt"]


def test_overlay_names_are_unique():
    used: set[str] = set()
    names = [overlay_name(Path(p), used) for p in ("x/a.jpg", "y/a.png", "a.jpg", "b.jpg")]
    assert names == ["a_gradcam.png", "a_2_gradcam.png", "a_3_gradcam.png", "b_gradcam.png"]


def test_overlay_names_are_valid_and_unique_for_any_input_name():
    """A 250-character name crashed the run with `File name too long`; odd characters and case must not clash."""
    used: set[str] = set()
    stems = ["n" * 250, "n" * 250, "é" * 200, 'a:b*c?"<>|', "A", "a", ""]
    names = [overlay_name(Path("in") / f"{stem}.jpg", used) for stem in stems]
    assert len({name.lower() for name in names}) == len(names)
    assert all(len(name.encode()) <= 255 and name.endswith(".png") and not set(name) & set('/\\:*?"<>|') for name in names)


@pytest.mark.parametrize("name", ["=1+1.jpg", '=HYPERLINK(""http:x.example"",""y"").jpg', "+1.jpg", "-1.jpg", "@SUM(A1).jpg",
                                  "\tx.jpg", "\rx.jpg"])
def test_text_cells_cannot_become_spreadsheet_formulas(name):
    row = result_row(Path(name), ImageRejected("truncated", "damaged"))
    assert row["path"] == "'" + name
    assert spreadsheet_safe("ISIC_1.jpg") == "ISIC_1.jpg" and spreadsheet_safe("0.1234") == "0.1234"


def test_out_that_is_an_input_or_inside_an_input_folder_is_refused(tmp_path, photos, capsys):
    """`--out photo.jpg` overwrote the photo with a CSV and exited 0."""
    photo = tmp_path / "photo.jpg"
    shutil.copy(photos[0], photo)
    original = photo.read_bytes()
    (tmp_path / "link.jpg").symlink_to(photo)
    for argv in ([str(photo), "--out", str(photo)], [str(tmp_path / "link.jpg"), "--out", str(photo)],
                 [str(tmp_path), "--out", str(tmp_path / "sub" / "results.csv")], [str(photo), "--out", str(tmp_path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "error: --out" in err and "Traceback" not in err
    assert photo.read_bytes() == original


def test_an_interrupted_run_leaves_the_previous_csv_whole(tmp_path, photos, smoke_model, monkeypatch):
    out = tmp_path / "results.csv"
    out.write_text("the previous results\n")

    def failing(clf, paths, explain, tta):
        yield paths[0], ImageRejected("truncated", "damaged")
        raise KeyboardInterrupt

    monkeypatch.setattr("inference.__main__.classify", failing)
    with pytest.raises(KeyboardInterrupt):
        main([str(p) for p in photos] + ["--out", str(out), "--model", str(smoke_model)])
    assert out.read_text() == "the previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no partial file left behind


def test_formula_names_are_escaped_in_the_written_csv(tmp_path, photos, smoke_model, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("=1+1.jpg", "@cmd.jpg"):
        shutil.copy(photos[0], tmp_path / name)
    assert main(["=1+1.jpg", "@cmd.jpg", "--out", "results.csv", "--model", str(smoke_model), "--gradcam-dir", "cams"]) == 0
    assert [row["path"] for row in rows_of((tmp_path / "results.csv").read_text())] == ["'=1+1.jpg", "'@cmd.jpg"]
    assert sorted(p.name for p in (tmp_path / "cams").iterdir()) == ["=1+1_gradcam.png", "@cmd_gradcam.png"]


@pytest.mark.parametrize(("p", "warning_code", "decision", "malignant"), [
    (0.9, None, "refer", "1"),
    (0.9, "unfamiliar", "refer", "1"),  # a possible cancer is never hidden behind the gate's caution
    (0.1, "unfamiliar", "uncertain", "0"),  # a cautioned image below the threshold is never reassuring
    (0.9, "not_dermoscopy", "uncertain", "0"),  # not a lesion photo: its P means nothing, never a referral
    (0.1, None, "no_flag", "0"),
])
def test_the_decision_column_follows_the_core_rule(p, warning_code, decision, malignant):
    from inference import Prediction

    prediction = Prediction(p, 0.5, dict.fromkeys(LABELS, 1 / 7), warning_code and "a warning", warning_code)
    assert prediction.decision_code == decision and prediction.to_dict()["decision_code"] == decision
    assert prediction.to_dict()["malignant"] == (decision == "refer")
    row = result_row(Path("x.jpg"), prediction)
    assert (row["decision"], row["malignant"]) == (decision, malignant)
    assert row["warning"].startswith(warning_code or "")


def test_an_error_row_has_the_reason_and_no_numbers():
    row = result_row(Path("x.jpg"), ImageRejected("truncated", "The image file is damaged\nor incomplete."))
    assert row["error"] == "truncated: The image file is damaged or incomplete."
    assert row["p_malignant"] == row["malignant"] == row["decision"] == row["p_mel"] == ""


def test_an_unexpected_failure_costs_only_its_own_image():
    class Flaky:
        """Fails on any call that includes "bad.jpg", like a bug triggered by one image."""

        def predict(self, paths, explain, tta):
            if any(p.name == "bad.jpg" for p in paths):
                raise RuntimeError("boom")
            return [f"ok {p.name}" for p in paths]

    paths = [Path("a.jpg"), Path("bad.jpg"), Path("c.jpg")]
    results = dict(classify(Flaky(), paths, explain=False, tta=False))
    assert results[Path("a.jpg")] == "ok a.jpg" and results[Path("c.jpg")] == "ok c.jpg"
    assert isinstance(results[Path("bad.jpg")], RuntimeError)
    assert result_row(Path("bad.jpg"), results[Path("bad.jpg")])["error"] == "RuntimeError: boom"


@pytest.mark.slow
def test_folder_with_a_broken_file(mixed_folder, smoke_model, tmp_path):
    out, cams = tmp_path / "results.csv", tmp_path / "cams"
    run = run_cli(str(mixed_folder), "--out", str(out), "--gradcam-dir", str(cams), "--model", str(smoke_model))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == ""  # the CSV went to --out
    assert run.stderr.count(DISCLAIMER) == 1
    assert f"model: efficientnet_lite0 · local folder {smoke_model}" in run.stderr
    assert "Traceback" not in run.stderr
    rows = rows_of(out.read_text())
    assert [Path(r["path"]).relative_to(mixed_folder).as_posix() for r in rows] == ["a.jpg", "b.JPG", "sub/a.jpg", "sub/broken.jpg"]
    broken = rows[3]
    assert broken["error"].startswith("truncated: ") and broken["p_malignant"] == ""
    for row in rows[:3]:
        p, threshold = float(row["p_malignant"]), float(row["threshold"])
        assert row["error"] == "" and 0 <= p <= 1
        assert row["malignant"] == str(int(p >= threshold))
        assert row["decision"] == ("refer" if p >= threshold else "uncertain" if row["warning"] else "no_flag")
        assert sum(float(row[f"p_{label}"]) for label in MALIGNANT_LABELS) == pytest.approx(p, abs=2e-4)
        assert sum(float(row[c]) for c in COLUMNS if c.startswith("p_") and c != "p_malignant") == pytest.approx(1, abs=5e-4)
    overlays = sorted(cams.glob("*.png"))
    assert [p.name for p in overlays] == ["a_2_gradcam.png", "a_gradcam.png", "b_gradcam.png"]
    for path in overlays:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (200, 150)  # the photo's own size
    assert "4 files: 3 classified" in run.stderr


@pytest.mark.slow
def test_only_broken_files_exit_non_zero(tmp_path, smoke_model):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    run = run_cli(str(tmp_path), str(tmp_path / "missing.jpg"), "--model", str(smoke_model))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    rows = rows_of(run.stdout)  # no --out: the CSV is on stdout, messages on stderr
    assert [r["error"].split(":")[0] for r in rows] == ["empty", "not_an_image", "not_found"]
    assert "3 files: 0 classified" in run.stderr


@pytest.mark.slow
def test_a_model_folder_that_does_not_exist_is_a_clear_error(tmp_path, photos):
    run = run_cli(str(photos[0]), "--model", str(tmp_path / "no-model"))
    assert run.returncode == 2
    assert "no such model folder" in run.stderr and "Traceback" not in run.stderr


def test_tta_in_process(photos, smoke_model, capsys):
    """--tta averages the flipped and turned views in, --no-tta does not; without either, config.json's `tta` decides."""
    from inference.config import ModelConfig

    args = [str(p) for p in photos[:2]] + ["--model", str(smoke_model)]
    assert main(args + ["--no-tta"]) == 0
    plain = rows_of(capsys.readouterr().out)
    assert main(args + ["--tta"]) == 0
    captured = capsys.readouterr()
    rows = rows_of(captured.out)
    assert len(rows) == 2 and all(0 <= float(r["p_malignant"]) <= 1 and r["error"] == "" for r in rows)
    assert [r["p_nv"] for r in rows] != [r["p_nv"] for r in plain]  # the flipped and turned views were averaged in
    assert captured.err.count(DISCLAIMER) == 1 and "(with test-time augmentation)" in captured.err
    assert main(args) == 0
    assert rows_of(capsys.readouterr().out) == (rows if ModelConfig.load(smoke_model).tta else plain)


# --- issue 24 (outputs that overwrite) and issue 25 (a quiet, fast command line) -----------------------------------


def test_overlays_never_overwrite_a_file_the_run_did_not_create(tmp_path, photos, smoke_model):
    """With --gradcam-dir equal to the input folder, an input photo named X_gradcam.png beside X.jpg was overwritten."""
    shutil.copy(photos[0], tmp_path / "X.jpg")
    shutil.copy(photos[1], tmp_path / "X_gradcam.png")  # an input photo that happens to have the overlay's name
    (tmp_path / "X_2_gradcam.png").symlink_to(tmp_path / "elsewhere.png")  # a link is not followed either
    before = (tmp_path / "X_gradcam.png").read_bytes()
    assert main([str(tmp_path / "X.jpg"), "--gradcam-dir", str(tmp_path), "--model", str(smoke_model)]) == 0
    assert (tmp_path / "X_gradcam.png").read_bytes() == before
    assert not (tmp_path / "elsewhere.png").exists()
    with Image.open(tmp_path / "X_3_gradcam.png") as overlay:
        assert overlay.format == "PNG" and overlay.size == Image.open(photos[0]).size


def test_a_second_run_into_the_same_overlay_folder_keeps_the_first_runs_overlays(tmp_path, photos, smoke_model):
    cams = tmp_path / "cams"
    for _ in range(2):
        assert main([str(photos[0]), "--gradcam-dir", str(cams), "--model", str(smoke_model)]) == 0
    stem = photos[0].stem
    assert sorted(p.name for p in cams.iterdir()) == [f"{stem}_2_gradcam.png", f"{stem}_gradcam.png"]


def test_help_and_usage_errors_do_not_load_tensorflow():
    """`python -m inference --help` took ~10 s and printed TensorFlow's logs."""
    for args, code in ((["--help"], 0), ([], 2), (["photo.jpg", "--tta", "--no-such-option"], 2)):
        run = subprocess.run([sys.executable, "-X", "importtime", "-m", "inference", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=TIMEOUT)
        assert run.returncode == code, run.stderr[-2000:]
        assert "usage: python -m inference" in run.stdout + run.stderr
        imported = {line.split("|")[-1].strip().split(".")[0] for line in run.stderr.splitlines() if line.startswith("import time:")}
        assert not imported & {"tensorflow", "keras", "gradio", "PIL"}, sorted(imported & {"tensorflow", "keras", "gradio", "PIL"})


@pytest.mark.slow
def test_start_up_prints_no_tensorflow_or_cuda_noise(photos, smoke_model):
    """A machine without a GPU printed `failed call to cuInit` and TensorFlow's C++ start-up lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    run = subprocess.run([sys.executable, "-m", "inference", str(photos[0]), "--model", str(smoke_model)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert run.returncode == 0, run.stderr[-2000:]
    for noise in ("cuInit", "cuda", "absl::InitializeLog", "cpu_feature_guard", "oneDNN"):
        assert noise not in run.stderr, run.stderr[-2000:]
    assert run.stderr.count(DISCLAIMER) == 1 and "1 files: 1 classified" in run.stderr
