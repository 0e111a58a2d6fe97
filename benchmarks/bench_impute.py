"""Imputation accuracy of VAEImputer against scikit-learn's imputers on real tables.

Datasets: sklearn's bundled tables (wine, breast_cancer, iris, digits without its constant
columns, diabetes's features) and the numeric real tables of ``--tables DIR`` /
``$SKVAE_TABLES`` (default ``../shared/data/tables`` next to the repository; targets and tasks
from ``MANIFEST.tsv``, loaded with ``bench_tables``'s loader): concrete, oils, olive, crabs,
biomass when present, numeric columns only, target removed.

Each table is standardized (StandardScaler on the complete table), so the RMSE is in standard
deviations of each feature. Cells are then removed (seeded ``np.random.RandomState(0)``; no
row and no column is left entirely empty - one random cell of such a row or column is put
back):
- MCAR 10 %, 30 %, 50 %: each cell independently;
- MNAR(high): in each column, each cell above the column's 70th percentile with probability
  0.5 (about 15 % of the cells; the high values go missing).

Imputers: VAEImputer(random_state=0), SimpleImputer (mean), KNNImputer, IterativeImputer
(BayesianRidge, max_iter=10) and IterativeImputer(ExtraTreesRegressor(50 trees), max_iter=10),
the last skipped on tables of more than ``--et-max-cells`` cells (default 20000: digits).
Each is fitted on the holed table and transforms it (the transductive setting); the RMSE is
over the removed cells only. "fit+transform s" times both. At MCAR 30 % only, "downstream" is
the 3-fold (stratified for classification) cross-validated accuracy of
make_pipeline(imputer, LogisticRegression) - or R² of make_pipeline(imputer, Ridge) for the
regression tables - on the holed table. "warnings" counts the warnings raised (fit and
downstream), by category (ConvergenceWarning: IterativeImputer or LogisticRegression did not
converge).

Usage: python benchmarks/bench_impute.py [--quick] [--only a,b] [--skip a,b]
           [--rates 0.1,0.3,0.5,mnar] [--no-downstream] [--et-max-cells 20000] [--tables DIR]
           [--set key=value ...] [--csv PATH]
"""

import argparse
import time
import warnings
from collections import Counter

import numpy as np

from _common import add_run_options, chosen, finish, header, table, table_row
from bench_tables import SKLEARN_TABLES, parse_overrides, prepare, real_tables

from sklearn.base import clone
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TITLE = "Imputation RMSE (standardized scale): VAEImputer vs sklearn's imputers"
SKLEARN = ["wine", "breast_cancer", "iris", "diabetes", "digits"]
SHARED = ["concrete", "oils", "olive", "crabs", "biomass"]
QUICK = ["wine", "iris"]
MNAR = "MNAR(high)"
DOWNSTREAM_RATE = 0.3
COLUMNS = ["dataset", "n", "d", "missing", "imputer", "RMSE", "fit+transform s", "downstream",
           "warnings"]


# ---------------------------------------------------------------- datasets
# Each loader returns (X complete float array, y, task).

def _sklearn(load, task):
    def loader():
        X, y = load(return_X_y=True)
        return X.astype(np.float64), y, task
    return loader


def _numeric(name, table_loader):
    """A real table's numeric columns, target removed, rows with a NaN dropped."""
    def loader():
        _, X, y, task, _ = prepare(name, table_loader)
        X = X.select_dtypes(include="number").to_numpy(dtype=np.float64)
        complete = ~np.isnan(X).any(axis=1)
        return X[complete], y[complete], task
    return loader


def all_datasets(tables):
    loaders = {name: _sklearn(load, task) for name, (load, task) in SKLEARN_TABLES.items()}
    shared = real_tables(tables)
    for name in SHARED:
        if name in shared:
            loaders[name] = _numeric(name, shared[name])
    return loaders


def load(loader):
    """Standardized complete table without constant columns, labels, task."""
    X, y, task = loader()
    X = X[:, X.std(axis=0) > 0]
    return StandardScaler().fit_transform(X), y, task


# ---------------------------------------------------------------- missingness

def _no_empty_lines(mask, rng):
    """Put back one random cell of each entirely removed row, then of each such column."""
    n, d = mask.shape
    for i in np.flatnonzero(mask.all(axis=1)):
        mask[i, rng.randint(d)] = False
    for j in np.flatnonzero(mask.all(axis=0)):
        mask[rng.randint(n), j] = False
    return mask


def remove_cells(X, mechanism):
    """(X with NaN where removed, mask of the removed cells); seeded, RandomState(0)."""
    rng = np.random.RandomState(0)
    if mechanism == MNAR:
        high = X > np.percentile(X, 70, axis=0)
        mask = high & (rng.rand(*X.shape) < 0.5)
    else:
        mask = rng.rand(*X.shape) < mechanism
    mask = _no_empty_lines(mask, rng)
    holed = X.copy()
    holed[mask] = np.nan
    return holed, mask


def mechanism_label(mechanism):
    return mechanism if mechanism == MNAR else f"MCAR {mechanism:.0%}"


# ---------------------------------------------------------------- imputers

def imputers(overrides):
    from skvae import VAEImputer

    return {
        "VAEImputer": VAEImputer(random_state=0, **overrides),
        "mean": SimpleImputer(),
        "KNN": KNNImputer(),
        "Iterative(BR)": IterativeImputer(random_state=0, max_iter=10),
        "Iterative(ET)": IterativeImputer(
            estimator=ExtraTreesRegressor(n_estimators=50, random_state=0),
            random_state=0, max_iter=10),
    }


def counted(fn, caught_names):
    """Run fn() with warnings recorded (not printed); add their category names to the list."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    caught_names.extend(w.category.__name__ for w in caught)
    return result


def evaluate(imputer, X, holed, mask, y, task, with_downstream):
    """Row cells for one imputer: RMSE, seconds, downstream score, warnings."""
    caught = []
    row = {}
    try:
        start = time.perf_counter()
        counted(lambda: imputer.fit(holed), caught)
        filled = counted(lambda: imputer.transform(holed), caught)
        row["fit+transform s"] = time.perf_counter() - start
        if filled.shape != X.shape or np.isnan(filled).any():
            raise ValueError(f"output of shape {filled.shape}, "
                             f"{int(np.isnan(filled).sum())} NaN")
        row["RMSE"] = float(np.sqrt(np.mean((filled[mask] - X[mask]) ** 2)))
    except Exception as exc:  # report in the row, carry on with the rest
        row["RMSE"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:80]
        with_downstream = False
    if with_downstream:
        if task == "classification":
            model = LogisticRegression(max_iter=2000)
            cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
        else:
            model, cv = Ridge(), KFold(n_splits=3, shuffle=True, random_state=0)
        try:
            scores = counted(lambda: cross_val_score(
                make_pipeline(clone(imputer), model), holed, y, cv=cv, error_score="raise"),
                caught)
            row["downstream"] = float(np.mean(scores))
        except Exception as exc:
            row["downstream"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:60]
    counts = Counter(caught)
    by_category = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    row["warnings"] = f"{len(caught)} ({by_category})" if caught else "0"
    row["_convergence"] = counts.get("ConvergenceWarning", 0)
    return row


# ---------------------------------------------------------------- summary

def summary(rows):
    cases = {}
    for r in rows:
        if isinstance(r["RMSE"], float):
            cases.setdefault((r["dataset"], r["missing"]), {})[r["imputer"]] = r["RMSE"]
    best_rows, n_best, n_beats_mean, ratios_br, ratios_et, n_vae = [], 0, 0, [], [], 0
    for (dataset, missing), rmse in cases.items():
        best = min(rmse, key=rmse.get)
        vae = rmse.get("VAEImputer")
        others = {k: v for k, v in rmse.items() if k != "VAEImputer"}
        best_other = min(others, key=others.get) if others else ""
        best_rows.append({"dataset": dataset, "missing": missing, "best": best,
                          "best RMSE": rmse[best],
                          "VAE RMSE": vae if vae is not None else "",
                          "best other": best_other,
                          "VAE / best other": vae / others[best_other]
                          if vae is not None and best_other else "",
                          "VAE / mean": vae / rmse["mean"]
                          if vae is not None and "mean" in rmse else ""})
        if vae is None:
            continue
        n_vae += 1
        n_best += best == "VAEImputer"
        n_beats_mean += "mean" in rmse and vae < rmse["mean"]
        if "Iterative(BR)" in rmse:
            ratios_br.append(vae / rmse["Iterative(BR)"])
        if "Iterative(ET)" in rmse:
            ratios_et.append(vae / rmse["Iterative(ET)"])
    print("## Lowest RMSE per dataset and missingness\n")
    table(best_rows, ["dataset", "missing", "best", "best RMSE", "VAE RMSE", "best other",
                      "VAE / best other", "VAE / mean"])
    print(f"# VAEImputer lowest RMSE: {n_best} of {n_vae} cases")
    losses = [f"{r['dataset']} {r['missing']}" for r in best_rows
              if isinstance(r["VAE / mean"], float) and r["VAE / mean"] >= 1]
    print(f"# VAEImputer beats mean imputation: {n_beats_mean} of {n_vae} cases"
          + (f" (not: {', '.join(losses)})" if losses else ""))
    for label, ratios in (("IterativeImputer (BayesianRidge)", ratios_br),
                          ("IterativeImputer (ExtraTrees)", ratios_et)):
        if ratios:
            print(f"# mean RMSE ratio VAEImputer / {label}: {np.mean(ratios):.4g} "
                  f"(median {np.median(ratios):.4g}, VAE lower in "
                  f"{sum(r < 1 for r in ratios)} of {len(ratios)})")
    mnar = [r for r in best_rows if r["missing"].startswith(MNAR) and r["VAE RMSE"] != ""]
    if mnar:
        print(f"# {MNAR}: VAEImputer lowest in {sum(r['best'] == 'VAEImputer' for r in mnar)} "
              f"of {len(mnar)}; mean VAE / mean-imputation RMSE ratio "
              f"{np.mean([r['VAE / mean'] for r in mnar]):.4g}")
    down = {}
    for r in rows:
        if isinstance(r.get("downstream"), float):
            down.setdefault(r["dataset"], {})[r["imputer"]] = r["downstream"]
    pairs = [(s["VAEImputer"], s["mean"]) for s in down.values()
             if {"VAEImputer", "mean"} <= set(s)]
    if pairs:
        best_down = Counter(max(s, key=s.get) for s in down.values())
        print(f"# downstream (MCAR {DOWNSTREAM_RATE:.0%}): VAEImputer >= mean imputation in "
              f"{sum(v >= m for v, m in pairs)} of {len(pairs)}; best downstream per dataset: "
              + ", ".join(f"{k} {v}" for k, v in best_down.most_common()))
    conv = Counter()
    for r in rows:
        conv[r["imputer"]] += r.get("_convergence", 0)
    if sum(conv.values()):
        print("# ConvergenceWarnings: " + ", ".join(f"{k} {v}" for k, v in conv.items() if v))
    print(flush=True)


def parse_rates(text):
    out = []
    for token in text.split(","):
        token = token.strip()
        out.append(MNAR if token.lower().startswith("mnar") else float(token))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated dataset names to run")
    parser.add_argument("--skip", default="", help="comma-separated dataset names to leave out")
    parser.add_argument("--rates", default="0.1,0.3,0.5,mnar",
                        help="MCAR rates and/or 'mnar' (default 0.1,0.3,0.5,mnar)")
    parser.add_argument("--no-downstream", action="store_true",
                        help=f"skip the cross-validated downstream score (at MCAR "
                             f"{DOWNSTREAM_RATE:.0%}%)")
    parser.add_argument("--et-max-cells", type=int, default=20000,
                        help="skip Iterative(ET) on tables with more cells than this (default "
                             "20000, which leaves out digits: 1797 x 61 is too slow)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{', '.join(QUICK)}; MCAR {DOWNSTREAM_RATE:.0%}% only")
    add_run_options(parser, "VAEImputer")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    mechanisms = [DOWNSTREAM_RATE] if args.quick else parse_rates(args.rates)

    header(TITLE)
    loaders = all_datasets(args.tables)
    names = chosen(loaders, args, QUICK)
    print(f"# missingness: {', '.join(mechanism_label(m) for m in mechanisms)}; "
          f"VAEImputer(random_state=0, **{overrides})\n", flush=True)

    print("| " + " | ".join(COLUMNS) + " |", flush=True)
    rows = []
    for name in names:
        X, y, task = load(loaders[name])
        for mechanism in mechanisms:
            holed, mask = remove_cells(X, mechanism)
            label = mechanism_label(mechanism)
            if mechanism == MNAR:
                label += f" ({mask.mean():.0%})"
            with_downstream = mechanism == DOWNSTREAM_RATE and not args.no_downstream
            for imp_name, imputer in imputers(overrides).items():
                row = {"dataset": name, "n": X.shape[0], "d": X.shape[1], "missing": label,
                       "imputer": imp_name}
                if imp_name == "Iterative(ET)" and X.size > args.et_max_cells:
                    row["RMSE"] = f"skipped: n*d = {X.size} > --et-max-cells {args.et_max_cells}"
                else:
                    row.update(evaluate(imputer, X, holed, mask, y, task, with_downstream))
                rows.append(row)
                table_row(row, COLUMNS)
    finish("impute", TITLE, rows, COLUMNS, summary, args)


if __name__ == "__main__":
    main()
