"""How well the Gaussian VAE's linear start is chosen: PPCA or FA, judged on the test folds.

A Gaussian ``VAETransformer`` starts from probabilistic PCA or factor analysis, whichever has
the higher mean log-likelihood on its validation rows, or, with fewer than
``_config.CV_BELOW_ROWS`` of them, in 10-fold cross-validation over the training and
validation rows (``skvae._init``). This script asks, on the datasets and folds of
``bench_tables.py``, how often that choice is the start that is better on the test fold
(each start refitted on the training and validation rows, as the estimator does), what
picking wrongly costs (regret: nats per test row, averaged over folds), and how other rules
would have done:

- ``rule``: the estimator's rule (below);
- ``mean``: higher mean validation log-likelihood, whatever the number of rows;
- ``median``: higher median over the validation rows (robust to a few heavy-tailed rows);
- ``mean-1se``: FA only if its mean lead exceeds one standard error of the per-row lead;
- ``bic``: BIC on the training rows (FA has d - 1 more parameters);
- ``cv``: 10-fold cross-validation over the training and validation rows, always;
- ``ppca`` / ``fa``: always that start.

The "chosen" column is the estimator's own choice (``skvae._init.linear_start`` on the rows
and seed a default fit uses); "rule" recomputes it, and the summary says in how many folds
the two agree. Linear models only: no VAE is trained; the whole run takes about ten
minutes (the ``cv`` column refits both models ten times per fold).

Usage: python benchmarks/bench_start.py [--quick] [--only a,b] [--skip a,b] [--k 2,8]
           [--folds 3] [--tables DIR] [--csv PATH]   (the options of bench_tables.py)
"""

import warnings

import numpy as np

from _common import finish, header, table_row
from bench_tables import case_options, cases, parse_overrides

from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import check_random_state

TITLE = "Linear start of the Gaussian VAE: the rule's choice against the test folds"
RULES = ("rule", "mean", "median", "mean-1se", "bic", "cv", "ppca", "fa")
COLUMNS = ["dataset", "k", "chosen", "test lead of FA", *(f"regret {r}" for r in RULES)]


def starts(est, X_train, X_test, k):
    """(the estimator's choice, {rule: picks FA}, test-fold lead of FA over PPCA, nats/row)
    for one training fold, on the rows and seeds ``est.fit`` would use."""
    from skvae import _config, _init

    X_train = est._validate_training_data(X_train, reset=True)
    rng = check_random_state(est.random_state)
    est._build(X_train, rng)  # standardizer, noise floors and seeds, as fit sets them
    x, _, _ = est._to_model(X_train)
    train_rows, val_rows = est._split(X_train, rng)
    x_train, x_val = x[train_rows].astype(np.float64), x[val_rows].astype(np.float64)
    x_test = est._standardizer.forward(np.asarray(X_test, np.float64))
    floor = est._noise_floor
    actual = _init.linear_start(x_train, x_val, k, floor, est._init_seed)[-1]
    # The same fits as linear_start (tables here have fewer than _config.LINEAR_START_MAX_ROWS training
    # rows, so it subsamples nothing and draws FA's seed first).
    fa_seed = np.random.RandomState(est._init_seed).randint(2**31 - 1)
    rank = min(k, x_train.shape[1] - 1, x_train.shape[0] - 1)
    val, train_ll, test = {}, {}, {}
    for name in ("ppca", "fa"):
        params = _init._fit(name, x_train, rank, floor, fa_seed)
        val[name] = _init.row_log_likelihood(x_val, *params)
        train_ll[name] = _init.row_log_likelihood(x_train, *params).sum()
        refit = _init._fit(name, np.concatenate([x_train, x_val]), rank, floor, fa_seed)
        test[name] = _init.row_log_likelihood(x_test, *refit).mean()
    lead = val["fa"] - val["ppca"]
    n, d = x_train.shape
    with _init.THREADS.single_blas():
        cv = _init._cross_validated(np.concatenate([x_train, x_val]), rank, floor, fa_seed)
    cv_lead = cv["fa"] - cv["ppca"]
    picks = {
        "mean": lead.mean() > 0,
        "median": np.median(lead) > 0,
        "mean-1se": lead.mean() - lead.std(ddof=1) / np.sqrt(len(lead)) > 0,
        "bic": train_ll["fa"] - train_ll["ppca"] - 0.5 * (d - 1) * np.log(n) > 0,
        "cv": cv_lead > 0,
        "rule": cv_lead > 0 if len(x_val) < _config.CV_BELOW_ROWS else lead.mean() > 0,
        "ppca": False,
        "fa": True,
    }
    return actual, picks, test["fa"] - test["ppca"]


def evaluate(X, y, task, preprocessor, k, folds, overrides):
    cv_class = StratifiedKFold if task == "classification" else KFold
    take = (lambda idx: X.iloc[idx]) if hasattr(X, "iloc") else (lambda idx: X[idx])
    from skvae import VAETransformer

    regret = {rule: [] for rule in RULES}
    chosen_starts, leads, agree, right = [], [], 0, 0
    for train, test in cv_class(folds, shuffle=True, random_state=0).split(X, y):
        prep = preprocessor().fit(take(train))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            actual, picks, lead = starts(VAETransformer(k, random_state=0, **overrides),
                                         prep.transform(take(train)), prep.transform(take(test)), k)
        chosen_starts.append(actual)
        leads.append(lead)
        agree += picks["rule"] == (actual == "fa")
        right += (actual == "fa") == (lead > 0)
        for rule, fa in picks.items():
            regret[rule].append(max(lead, 0.0) - (lead if fa else 0.0))
    row = {"chosen": "/".join(chosen_starts), "test lead of FA": float(np.mean(leads))}
    row.update({f"regret {r}": float(np.mean(v)) for r, v in regret.items()})
    return row, agree, right


def summary(rows):
    folds = sum(r["_folds"] for r in rows)
    print(f"# the estimator's choice is the better start on the test fold in "
          f"{sum(r['_right'] for r in rows)} of {folds} folds; the recomputed rule "
          f"agrees with it in {sum(r['_agree'] for r in rows)}")
    for rule in RULES:
        values = np.array([r[f"regret {rule}"] for r in rows])
        named = [r["dataset"] for r in rows]
        worst = sorted(zip(values, named, [r["k"] for r in rows]), reverse=True)[:3]
        print(f"# regret {rule:9s}: total {values.sum():8.2f} nats/row over {len(rows)} cases, "
              f"{np.sum(values > 0.01)} cases > 0.01; worst "
              + ", ".join(f"{n} k={k} {v:.2f}" for v, n, k in worst))


def main():
    args = case_options(__doc__.splitlines()[0]).parse_args()
    overrides = parse_overrides(args.set)  # e.g. validation_fraction: it moves the split
    header(TITLE)
    folds, _, todo = cases(args)
    print("| " + " | ".join(COLUMNS) + " |", flush=True)
    rows = []
    for label, X, y, task, preprocessor, _, k in todo:
        row, agree, right = evaluate(X, y, task, preprocessor, k, folds, overrides)
        rows.append({"dataset": label, "k": k, **row, "_folds": folds,
                     "_agree": agree, "_right": right})
        table_row(rows[-1], COLUMNS)
    finish("start", TITLE, rows, COLUMNS, summary, args)


if __name__ == "__main__":
    main()
