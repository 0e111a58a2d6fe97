"""The README cannot drift from the code or from the measurements.

* Its Python code blocks run, in order, in one namespace, as a reader would paste them. A
  block preceded by an HTML comment line ``<!-- skip-test: reason -->`` is not run (for
  blocks that need a cluster or data the README cannot provide); shell blocks (```sh) never
  are. Each block runs in a temporary working directory, so files it writes
  (``vae.joblib``) land there.
* Every figure of its "How it compares" table is in the results file that the row's
  benchmark writes (``benchmarks/bench_<name>.py`` -> ``benchmarks/results/<name>.md``),
  so a rerun that changes a figure fails here until the README quotes the new one.
* Its relative links lead to files of the repository.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_SKIP = re.compile(r"^<!--\s*skip-test:(.*?)-->\s*$")


@dataclass
class Block:
    language: str
    code: str
    line: int  # line of the opening fence in README.md
    skip_reason: str | None


def readme_blocks(text=None):
    """The fenced code blocks of the README, in order."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.match(before.strip())
        blocks.append(
            Block(
                language=match.group(1).lower(),
                code=match.group(2),
                line=text.count("\n", 0, match.start()) + 1,
                skip_reason=skip.group(1).strip() if skip else None,
            )
        )
    return blocks


def python_blocks():
    return [b for b in readme_blocks() if b.language in ("python", "py")]


def test_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n<!-- skip-test: needs a cluster -->\n```python\ny\n```\n"
    first, second = readme_blocks(text)
    assert (first.code, first.line, first.skip_reason) == ("x = 1\n", 2, None)
    assert (second.code, second.skip_reason) == ("y\n", "needs a cluster")


def test_readme_has_runnable_python_blocks():
    blocks = python_blocks()
    assert len([b for b in blocks if b.skip_reason is None]) >= 5, (
        "README.md should keep its runnable ```python examples"
    )
    for block in blocks:
        if block.skip_reason is not None:
            assert block.skip_reason, f"README.md:{block.line}: skip-test needs a reason"


# ---------------------------------------------------------------- "How it compares"

_COMPARE_HEADING = "## How it compares"
# A figure: digits, with thousands separators and a decimal part ("10,000", "0.0117").
_FIGURE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_BENCH = re.compile(r"benchmarks/bench_(\w+)\.py")
# Columns that name where a figure comes from rather than hold figures.
_SOURCE_COLUMNS = ("command", "docs")


def compare_rows(text=None):
    """The rows of the README's "How it compares" table, as {column: cell} dicts."""
    text = README.read_text(encoding="utf-8") if text is None else text
    assert _COMPARE_HEADING in text, f"README.md has no {_COMPARE_HEADING!r} section"
    section = text.split(_COMPARE_HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    header, rule, *body = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    assert all(set(c) <= set("-: ") for c in rule), "the table's second line is its rule"
    rows = [dict(zip(header, cells)) for cells in body]
    assert all(len(cells) == len(header) for cells in body), "a row with a wrong cell count"
    return rows


def results_file(row):
    """The results file a row's command writes: bench_<name>.py -> results/<name>.md."""
    match = _BENCH.search(row.get("command", ""))
    assert match, f"the row {row} names no benchmarks/bench_<name>.py command"
    return RESULTS / f"{match.group(1)}.md"


def missing_figures(row, results_text):
    """The figures of a row that its results file does not contain (as whole numbers:
    0.0117 is not found in 0.01170 or 10.0117)."""
    missing = []
    for column, cell in row.items():
        if column in _SOURCE_COLUMNS:
            continue
        for figure in _FIGURE.findall(cell):
            pattern = rf"(?<![\d.,]){re.escape(figure)}(?![\d]|[.,]\d)"
            if not re.search(pattern, results_text):
                missing.append(figure)
    return missing


def test_compare_table_is_parsed():
    text = (
        "## How it compares\n\nintro\n\n| measure | skvae | compared with | command | docs |\n"
        "|---|---|---|---|---|\n"
        "| MSE, 10 components | 0.0117 | PCA 0.0244 | `python benchmarks/bench_quality.py` "
        "| [d](docs/x.rst) |\n\n## Next\n| not | this |\n"
    )
    (row,) = compare_rows(text)
    assert results_file(row).name == "quality.md"
    results = "| 10 | VAE | 0.0117 |\n| 10 | PCA | 0.0244 |\n"
    assert missing_figures(row, results) == []
    # A figure that drifted, or that only appears inside a longer number, is missing.
    assert missing_figures(row, results.replace("0.0117", "0.0122")) == ["0.0117"]
    assert missing_figures(row, results.replace("0.0117", "0.01170")) == ["0.0117"]
    assert missing_figures(row, results.replace("| 10 |", "| 110 |")) == ["10"]


def test_compare_table_figures_are_in_the_results_files():
    rows = compare_rows()
    assert len(rows) >= 5, "the How it compares table lost its rows"
    problems = []
    for row in rows:
        path = results_file(row)
        if not path.is_file():
            problems.append(f"{row['measure']!r}: {path.relative_to(ROOT)} does not exist")
            continue
        missing = missing_figures(row, path.read_text(encoding="utf-8"))
        if missing:
            problems.append(
                f"{row['measure']!r}: {', '.join(missing)} not in {path.relative_to(ROOT)}"
            )
    assert not problems, (
        "README.md's How it compares table quotes figures that its benchmarks' results "
        "files do not hold (quote the files' current figures):\n" + "\n".join(problems)
    )


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_links_lead_to_files():
    text = README.read_text(encoding="utf-8")
    targets = [t for t in _LINK.findall(text) if "://" not in t and not t.startswith("#")]
    assert targets, "README.md links no files"
    broken = [t for t in targets if not (ROOT / t.split("#", 1)[0]).exists()]
    assert not broken, f"README.md links files that do not exist: {broken}"


# The README's grid search uses max_iter=20 to be quick to try, and says so.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    try:
        for block in python_blocks():
            if block.skip_reason is not None:
                continue
            code = compile(block.code, f"README.md:{block.line}", "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                pytest.fail(
                    f"the ```python block at README.md:{block.line} raised "
                    f"{type(exc).__name__}: {exc}\n\n{block.code}"
                )
    finally:
        plt.close("all")
