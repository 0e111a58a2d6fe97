"""
Choosing the latent size with GridSearchCV
==========================================

:meth:`VAETransformer.score <skvae.VAETransformer.score>` is the mean held-out
log-likelihood per row, so :class:`~sklearn.model_selection.GridSearchCV` can choose
``n_components`` without a ``scoring`` argument, as it does for
:class:`~sklearn.decomposition.PCA`. Each candidate is fitted on two folds and scored on the
third; the refit on all rows reports, in ``kl_per_component_``, how much information each
latent component carries (near 0 nats: unused).

This page uses 1,000 of scikit-learn's digits scaled to [0, 1] with the Bernoulli likelihood
and ``max_iter=40`` so that the 13 fits take well under a minute on two cores; for real use,
keep the defaults (early stopping decides when to stop).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

X = load_digits().data[:1000] / 16.0
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # max_iter=40 is short

search = GridSearchCV(
    VAETransformer(likelihood="bernoulli", max_iter=40, random_state=0),
    {"n_components": [1, 2, 4, 8]},
    cv=3,
).fit(X)
results = pd.DataFrame(search.cv_results_)[
    ["param_n_components", "mean_test_score", "std_test_score", "mean_fit_time"]
]
print(results.round(2).to_string(index=False))
print("best:", search.best_params_)

# %%
# Held-out log-likelihood against the latent size
# -----------------------------------------------
# Higher is better. The score rises steeply from one to a few components, then flattens:
# extra components that the data does not need cost little, because the KL term switches
# them off.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(results["param_n_components"].astype(int), results["mean_test_score"],
            yerr=results["std_test_score"], marker="o", capsize=3)
ax.set_xscale("log", base=2)
ax.set_xticks([1, 2, 4, 8], labels=["1", "2", "4", "8"])
ax.set_xlabel("n_components")
ax.set_ylabel("held-out log-likelihood (nats per image)")
ax.set_title("GridSearchCV(VAETransformer(...), cv=3): mean ± std over folds")

# %%
# Which components does the chosen model use?
# -------------------------------------------
# ``kl_per_component_`` of the model refitted on all rows with the best ``n_components``:
# the information each latent dimension carries, in nats per row.
best = search.best_estimator_
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.bar(np.arange(1, best.n_components_ + 1), best.kl_per_component_)
ax.set_xticks(np.arange(1, best.n_components_ + 1))
ax.set_xlabel("latent component")
ax.set_ylabel("KL (nats per row)")
ax.set_title(f"kl_per_component_ of the refit (n_components={best.n_components_})")
