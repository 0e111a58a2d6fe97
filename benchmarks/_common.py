"""Shared helpers of the benchmark scripts (not a test module)."""

import os
import platform
import resource
import shlex
import sys
import time

import numpy as np


def header(title):
    """Print the title, the command that produced the table, and the machine."""
    print(f"# {title}")
    print(f"# command: {shlex.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"# machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print()


def table(rows, columns):
    """Print rows (dicts) as a Markdown table in the given column order."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |")
    print(flush=True)


def table_row(row, columns):
    """Print one Markdown table row as soon as it is measured (the full table follows)."""
    print("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |", flush=True)


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


def finish(rows, columns, summary, csv_path):
    """The full table, the benchmark's summary lines and the CSV, once every row is in."""
    print()
    if rows:
        table(rows, columns)
        summary(rows)
    write_csv(csv_path, rows, columns)


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
