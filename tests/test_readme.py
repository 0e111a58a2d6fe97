"""The README's Python code blocks run, in order, in one namespace, as a reader would paste
them: the README cannot drift from the API.

A block preceded by an HTML comment line ``<!-- skip-test: reason -->`` is not run (for
blocks that need a cluster or data the README cannot provide); shell blocks (```sh) never
are. Each block runs in a temporary working directory, so files it writes (``vae.joblib``,
``loss.png``) land there.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
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


def test_readme_links_the_docs_build():
    assert "make docs" in README.read_text(encoding="utf-8")


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
