"""Shared helpers of the benchmark scripts (not a test module).

Each script prints its table(s) and also writes them, with the command, the date, the
versions and the CPU, to ``benchmarks/results/<name>.md``, or under ``--quick`` to
``benchmarks/results/quick/<name>.md`` so that a quick run never replaces the full figures
(:func:`write_results`). Nothing heavy happens on import: the scripts parse their options
before they import TensorFlow (through skvae) or load data, so ``--help`` returns at once.
"""

import contextlib
import datetime
import io
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")

#: An epoch line of the estimators' ``verbose=1`` output: "Epoch 3/1000 - 0.52s - loss: ...".
EPOCH_LINE = re.compile(r"^\s*Epoch (\d+)/(\d+) - (\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)s\b")


def epoch_seconds(log):
    """Seconds of each epoch, in order, from what a ``verbose=1`` fit printed; any other line
    (a warning, a note the library may add one day) is ignored."""
    return [float(m.group(3)) for m in map(EPOCH_LINE.match, log.splitlines()) if m]


# ---------------------------------------------------------------- printing

def header(title):
    """Print the title, the command that produced the table, and the machine."""
    print(f"# {title}")
    print(f"# command: {shlex.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"# machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print()


def markdown_table(rows, columns):
    """Rows (dicts) as a GitHub Markdown pipe table (text, no trailing newline)."""
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in cells]
    return "\n".join(lines)


def table(rows, columns):
    """Print rows (dicts) as a Markdown table in the given column order; return the text."""
    text = markdown_table(rows, columns)
    print(text)
    print(flush=True)
    return text


def table_row(row, columns):
    """Print one Markdown table row as soon as it is measured (the full table follows)."""
    print("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |", flush=True)


@contextlib.contextmanager
def echoed():
    """Print what the block prints and keep a copy: ``with echoed() as out: ...``, then
    ``out.getvalue()``."""
    real, copy = sys.stdout, io.StringIO()

    class Both(io.TextIOBase):
        def write(self, text):
            real.write(text)
            copy.write(text)
            return len(text)

        def flush(self):
            real.flush()

    with contextlib.redirect_stdout(Both()):
        yield copy


def as_markdown(text):
    """Printed notes as Markdown for a results file: "## title" lines become "###" headings,
    "# note" and other text lines become bullets, table lines stay as they are, with a blank
    line around each table and heading."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        is_table = line.startswith("|")
        if out and out[-1] and out[-1].startswith("|") != is_table:
            out.append("")  # a table starts or ends
        if line.startswith("## "):
            out += ["", "### " + line[3:].strip(), ""]
        elif is_table:
            out.append(line)
        else:
            out.append("- " + line.lstrip("#").strip())
    return _squeeze(out)


# ---------------------------------------------------------------- results files

def write_results(name, sections, quick=False, folder=RESULTS, about=None, script=None):
    """Write a results file and return its path.

    ``name``: the script's name without ``bench_`` (``"tables"`` for ``bench_tables.py``);
    ``script``: that name where the file's differs (a mode with a results file of its own).
    ``sections``: ``(subtitle, markdown)`` pairs, a subtitle (or None) and a Markdown body,
    e.g. ``markdown_table(rows, columns)`` plus notes. The file is ``folder/<name>.md``, or
    ``folder/quick/<name>.md`` when ``quick``. ``about``: the header's bullet lines (default
    :func:`results_header`: the command, date, versions, CPU).
    """
    if quick:
        folder = os.path.join(folder, "quick")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.md")
    script = name if script is None else script
    text = render_results(script, sections, results_header(script) if about is None else about)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"# results written to {os.path.relpath(path)}", flush=True)
    return path


def render_results(name, sections, about):
    """The text of a results file: the marker line, the header bullets, the sections."""
    lines = [f"<!-- Written by benchmarks/bench_{name}.py; do not edit by hand: rerun the "
             "command below. -->", ""]
    lines += [line if line.startswith("- ") else "- " + line for line in about]
    for subtitle, body in sections:
        lines.append("")
        if subtitle:
            lines += [f"### {subtitle.strip()}", ""]
        lines.append(body.strip("\n"))
    return _squeeze(lines) + "\n"


def results_header(name, argv=None):
    """The header of a results file: command, date (UTC), versions and CPU, as bullets."""
    argv = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", f"benchmarks/bench_{name}.py", *argv])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [f"Command: `{command}`", f"Date: {date}", f"Versions: {versions()}",
            f"CPU: {cpu()}"]


def versions():
    """skvae (and its commit), numpy, scikit-learn, TensorFlow / Keras and Python versions."""
    from importlib import metadata

    def version(*distributions):
        for distribution in distributions:
            with contextlib.suppress(metadata.PackageNotFoundError):
                return metadata.version(distribution)
        return "not installed"

    skvae = sys.modules["skvae"].__version__ if "skvae" in sys.modules else version("skvae")
    return (f"skvae {skvae}{_commit()}, numpy {np.__version__}, scikit-learn "
            f"{version('scikit-learn')}, tensorflow {version('tensorflow', 'tensorflow-cpu')} / "
            f"keras {version('keras')}, Python {platform.python_version()}")


def _commit():
    """" (commit abc1234)" of the checkout, noting local changes to skvae/; "" without git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "skvae"], cwd=REPO,
                                 check=True, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" (commit {commit}{', uncommitted changes in skvae/' if changed.strip() else ''})"


def cpu():
    """The CPU's model name, the core count and the BLAS kernel(s) NumPy loaded."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            found = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.MULTILINE)
        if found:
            model = found.group(1).strip()
    try:
        from threadpoolctl import threadpool_info

        blas = sorted({f"{i.get('internal_api', '?')} `{i.get('architecture', '?')}`"
                       for i in threadpool_info() if i.get("user_api") == "blas"})
    except ImportError:
        blas = []
    return (f"{model}, {os.cpu_count()} cores, "
            f"{', '.join(blas) or 'BLAS not identified'}")


# ---------------------------------------------------------------- table benchmarks

def add_run_options(parser, estimator):
    """The options every table benchmark takes: --tables, --set, --csv."""
    default = os.environ.get(
        "SKVAE_TABLES",
        os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "tables"),
    )
    parser.add_argument("--tables", default=default,
                        help="folder of the real tables (default $SKVAE_TABLES or "
                             "../shared/data/tables)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"{estimator} keyword override (repeatable)")
    parser.add_argument("--csv", help="also write the rows to this CSV file")


def chosen(known, args, quick, matches=lambda name, wanted: name == wanted, kind="datasets"):
    """The names of ``known`` that ``--quick`` (the list ``quick``), ``--only`` and ``--skip``
    select, in the order asked for; says which asked-for names match nothing."""
    wanted = quick if args.quick else (args.only.split(",") if args.only else list(known))
    skip = [s for s in args.skip.split(",") if s]
    unknown = [w for w in wanted if not any(matches(n, w) for n in known)]
    if unknown:
        print(f"# unknown {kind} (skipped): {', '.join(unknown)}; known: {', '.join(known)}")
    names = [n for w in wanted for n in known if matches(n, w)]
    names = [n for n in dict.fromkeys(names) if not any(matches(n, s) for s in skip)]
    return names


def finish(name, title, rows, columns, summary, args):
    """The full table, the benchmark's summary lines, the results file (with the summary as
    notes) and the CSV (``--csv``), once every row is in."""
    print()
    body = "No rows: nothing was measured (see the command's options)."
    if rows:
        body = table(rows, columns)
        with echoed() as notes:
            summary(rows)
        body += "\n\n" + as_markdown(notes.getvalue())
    write_results(name, [(title, body)], args.quick)
    write_csv(args.csv, rows, columns)


def write_csv(path, rows, columns):
    import csv

    if not path or not rows:
        return
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"# rows written to {path}")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(value):
    """A value as one table cell: one line, its pipes escaped."""
    return " ".join(_fmt(value).split()).replace("|", "\\|")


def _squeeze(lines):
    """The lines joined, without blank lines at either end or two in a row."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def fashion_mnist():
    """(X_train 60000x784, y_train, X_test 10000x784, y_test), float32 in [0, 1]."""
    from skvae.datasets import load_fashion_mnist

    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    return X, y, X_test, y_test


def median_seconds(fn, repeat=20, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def interleaved_medians(fns, repeat=20, warmup=2, caps=None):
    """Median seconds of each callable in ``fns`` (a dict), timed round-robin: one call of
    each per round, so a change of clock speed or load during the run (common here) hits
    every entry alike instead of whichever was being timed then. ``caps`` maps a name to a
    smaller number of rounds for slow calls."""
    caps = caps or {}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for round_ in range(repeat):
        for name, fn in fns.items():
            if round_ < caps.get(name, repeat):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def rss_mb():
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
