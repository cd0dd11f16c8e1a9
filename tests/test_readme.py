"""README and reality in sync: the commands CI runs and the third-party snippet that tests run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_install_and_test_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -r requirements.txt" in README and ".venv/bin/pip install -q -r requirements.txt" in ci
    assert "\n.venv/bin/python -m pytest\n" in README and "\n.venv/bin/python -m pytest\n" in ci


def test_third_party_snippet_in_readme_is_the_tested_one():
    """From load_model to the end of p_malignant, the README shows exactly what tests/third_party_snippet.py runs."""
    tested = (ROOT / "tests" / "third_party_snippet.py").read_text()

    def core(text: str) -> str:
        return re.search(r"^model = keras\.saving\.load_model.*?^    return float\(.*?\)$", text, re.S | re.M).group(0)

    assert core(README) == core(tested)


def test_every_figure_in_the_results_table_comes_from_metrics(tmp_path):
    """The README's results rows are the output of `python -m train.model_card` on the shipped folders."""
    from train.model_card import results_table

    table = re.search(r"^\| model \| test AUC.*?(?=\n\n)", README, re.S | re.M).group(0)
    folders = re.search(r"python -m train\.model_card ([^`\n]+)", README).group(1).split()
    assert table.strip() == results_table([ROOT / f for f in folders]).strip()
