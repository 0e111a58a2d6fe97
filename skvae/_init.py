"""The linear Gaussian model a Gaussian VAE starts from: probabilistic PCA or factor analysis.

A Gaussian VAE whose encoder and decoder are linear has probabilistic PCA as its optimum
(Lucas et al. 2019), and with a per-feature noise variance it can represent factor analysis
exactly (see :func:`skvae._model.set_linear_solution`). Starting there, training starts at
the linear model's likelihood and early stopping (which also weighs the starting point) can
only keep something at least as good on the held-out rows. Both models are fitted with
scikit-learn on (at most ``_config.LINEAR_START_MAX_ROWS`` of) the training rows; the one
with the higher log-likelihood on the validation rows (on the training rows without early
stopping; cross-validated over both when there are fewer than ``_config.CV_BELOW_ROWS``
validation rows) is chosen and refitted on the training and validation rows together. Its
densities and conditional fills serve ``linear_mixture``. Why the rules are what they are
is told on the documentation's "Tuning constants" page.
"""

import warnings

import numpy as np
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

from skvae import _config
from skvae._runtime import THREADS


def linear_start(x_train, x_val, n_components, noise_floor, random_state, method="auto"):
    """``(loadings (d, r), noise_variance (d,), mean (d,), name)`` of the better of PPCA
    and FA (``method="auto"``) or of the one named ("ppca", "fa"), or None when there is no
    linear structure to start from (one feature or one row, or too few distinct rows for
    :func:`few_rows_rank`).

    ``x_train`` / ``x_val`` are standardized float arrays (``x_val`` may be None);
    ``noise_floor`` is the per-feature variance floor. Without ``x_val`` and with fewer rows
    than :func:`rows_to_trust_fa`, the start is PPCA at :func:`few_rows_rank` whatever the
    method (see ``_config.MIN_ROWS_PER_FACTOR``). A named method is fitted to the training and
    validation rows together, as the chosen one is.

    BLAS runs on one thread here: sklearn's FactorAnalysis does hundreds of products on thin
    matrices, where OpenBLAS' threads cost more than they save (timings: the "Tuning
    constants" page, under LINEAR_START_MAX_ROWS).
    """
    with THREADS.single_blas():
        return _linear_start(x_train, x_val, n_components, noise_floor, random_state, method)


def rows_to_trust_fa(n_features, n_components):
    """Rows a linear fit of ``n_components`` factors needs before its per-feature noise
    variances are trusted: ``_config.MIN_ROWS_PER_FACTOR`` per factor, the fit's rank + 1 (the
    mean). Below it a start with nothing held out takes PPCA over FA, and no feature is
    taken to be exactly determined (:func:`_floored`)."""
    return _config.MIN_ROWS_PER_FACTOR * (min(n_components, n_features - 1) + 1)


def few_rows_rank(x, n_components):
    """PPCA's rank for a start from too few rows x (see :func:`rows_to_trust_fa`). Where the
    centered rows span fewer dimensions than there are features (n_rows - 1 for distinct
    rows), at most half of those: PPCA's noise variance is the mean of the eigenvalues it
    leaves, so it keeps at least as many non-zero ones as it explains and cannot fit the
    rows exactly (see MIN_ROWS_PER_FACTOR on the "Tuning constants" page)."""
    n_features = x.shape[1]
    spread = np.linalg.matrix_rank(x - x.mean(axis=0))
    cap = n_features - 1 if spread >= n_features else spread // 2
    return min(n_components, n_features - 1, cap)


def judging(n_train, n_val, n_features, n_components, method):
    """How :func:`linear_start` picks its model for ``n_train`` training rows (after
    subsampling to ``_config.LINEAR_START_MAX_ROWS``) and ``n_val`` validation rows:
    "few rows" (PPCA at a reduced rank, see :func:`rows_to_trust_fa`), "named" (``method``),
    "cross-validation" (fewer than ``_config.CV_BELOW_ROWS`` validation rows), "validation
    rows" or "training rows" (the better log-likelihood there)."""
    if not n_val and n_train < rows_to_trust_fa(n_features, n_components):
        return "few rows"
    if method != "auto":
        return "named"
    if n_val and n_val < _config.CV_BELOW_ROWS and n_train + n_val <= _config.CV_MAX_ROWS:
        return "cross-validation"
    return "validation rows" if n_val else "training rows"


def _linear_start(x_train, x_val, n_components, noise_floor, random_state, method):
    rng = np.random.RandomState(random_state)
    x_train = _subsample(np.asarray(x_train, np.float64), rng)
    n, d = x_train.shape
    rank = min(n_components, d - 1, n - 1)
    if rank < 1:
        return None
    fa_seed = rng.randint(2**31 - 1)
    held_out = x_val is not None and len(x_val) > 0
    judged_by = judging(n, len(x_val) if held_out else 0, d, n_components, method)
    if judged_by == "few rows":
        # Too few rows to trust per-feature noise, and none held out to judge by.
        rank = few_rows_rank(x_train, n_components)
        if rank < 1:
            return None
        return (*_fit("ppca", x_train, rank, noise_floor, fa_seed), "ppca")
    judge = np.asarray(x_val, np.float64) if held_out else x_train
    if judged_by == "named":
        scores = {method: 0.0}  # no choice to make
    elif judged_by == "cross-validation":
        scores = _cross_validated(np.concatenate([x_train, judge]), rank, noise_floor, fa_seed)
    else:
        scores = {name: _log_likelihood(judge, *_fit(name, x_train, rank, noise_floor, fa_seed))
                  for name in ("ppca", "fa")}
    best = None
    for name, score in scores.items():
        if np.isfinite(score) and (best is None or score > best[0]):
            best = (score, name)
    if best is None:
        return None
    if held_out:
        rows = _subsample(np.concatenate([x_train, judge]), rng)
        return (*_fit(best[1], rows, min(rank, len(rows) - 1), noise_floor, fa_seed), best[1])
    return (*_fit(best[1], x_train, rank, noise_floor, fa_seed), best[1])


def _cross_validated(x, rank, noise_floor, seed):
    """{"ppca": mean, "fa": mean} held-out log-likelihood of every row of x, each scored
    by the model fitted to the other folds (``_config.CV_FOLDS``-fold). A feature that is constant
    in a fold's training rows gets the variance a constant feature gets in a fit
    (:func:`_floored`)."""
    rows = {"ppca": [], "fa": []}
    folds = KFold(min(_config.CV_FOLDS, len(x)), shuffle=True, random_state=seed).split(x)
    for fit_rows, held in folds:
        part = x[fit_rows]
        for name in rows:
            params = _fit(name, part, min(rank, len(part) - 1), noise_floor, seed)
            rows[name].append(row_log_likelihood(x[held], *params))
    return {name: float(np.mean(np.concatenate(r))) for name, r in rows.items()}


def _subsample(x, rng):
    if len(x) > _config.LINEAR_START_MAX_ROWS:
        return x[np.sort(rng.choice(len(x), _config.LINEAR_START_MAX_ROWS, replace=False))]
    return x


def _fit(name, x, rank, noise_floor, seed):
    """(loadings, noise_variance, mean) of PPCA or FA fitted to x, floored by
    :func:`_floored`."""
    if not np.ptp(x, axis=0).any():
        # Nothing varies: both models' solution is known (no loadings, the floor's noise),
        # and sklearn's PCA would divide by a total variance of zero (three RuntimeWarnings).
        noise = np.broadcast_to(np.asarray(noise_floor, np.float64), x.shape[1:]).copy()
        return np.zeros((x.shape[1], rank)), noise, x.mean(axis=0)
    if name == "ppca":
        pca = PCA(rank, svd_solver="full").fit(x)
        strength = np.maximum(pca.explained_variance_ - pca.noise_variance_, 0)
        loadings = pca.components_.T * np.sqrt(strength)
        return loadings, _floored(pca.noise_variance_, noise_floor, x, rank), pca.mean_
    # On rank-deficient rows FA's own log-likelihood takes log(0) (a NumPy warning); the
    # loadings are still finite, and a start that is not gets no finite score.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        fa = FactorAnalysis(rank, max_iter=200, random_state=seed).fit(x)
    return fa.components_.T, _floored(fa.noise_variance_, noise_floor, x, rank), fa.mean_


def _floored(noise_variance, noise_floor, x, rank):
    """A linear model's noise variances (fitted to the rows x with ``rank`` factors), floored
    at ``noise_floor``, with two exceptions:

    - a feature constant in x (but not in all the training rows, or its floor would already
      be the constant feature's: x may be a subsample or a fold) gets the constant feature's
      variance, as it would in a fit on those rows alone;
    - a feature the model determines exactly (noise below ``_config.PINNED_NOISE``: one of
      a group of one-hot columns, which sum to 1) keeps ``_config.EXACT_NOISE_FLOOR``
      where its floor is the general one, if x has :func:`rows_to_trust_fa` rows (with as
      many rows as factors every feature is fitted exactly).
    """
    n_rows, n_features = x.shape
    noise = np.broadcast_to(np.asarray(noise_variance, np.float64), (n_features,))
    floor = np.broadcast_to(np.asarray(noise_floor, np.float64), (n_features,))
    varies = np.ptp(x, axis=0) > 0
    floor = np.where(varies, floor, np.maximum(floor, _config.CONSTANT_FEATURE_VARIANCE))
    if n_rows >= rows_to_trust_fa(n_features, rank):
        pinned = varies & (noise < _config.PINNED_NOISE) & (floor <= _config.NOISE_FLOOR)
        floor = np.where(pinned, _config.EXACT_NOISE_FLOOR, floor)
    return np.maximum(noise, floor)


def _log_likelihood(x, loadings, noise_variance, mean):
    """Mean log-density of the rows of x under N(mean, W W' + diag(noise_variance))."""
    return float(np.mean(row_log_likelihood(x, loadings, noise_variance, mean)))


def row_log_likelihood(x, loadings, noise_variance, mean):
    """Log-density of each row of x under N(mean, W W' + diag(noise_variance)) (all -inf
    when a noise variance is not positive: the covariance is then not positive definite).
    :func:`observed_log_likelihood` with every cell observed."""
    if np.any(np.asarray(noise_variance) <= 0):
        return np.full(len(x), -np.inf)
    return observed_log_likelihood(x, loadings, noise_variance, mean)


def observed_log_likelihood(x, loadings, noise_variance, mean, observed=None):
    """Log-density of each row's observed cells under N(mean, W W' + diag(noise_variance)).

    ``observed`` (same shape as x, or None for all) selects the cells; the marginal of a
    Gaussian on a subset of its coordinates is the Gaussian of that subset, whose covariance
    ``W_o W_o' + diag(noise_o)`` is again low rank plus diagonal, so each row costs O(d r^2)
    through Woodbury's identity and the matrix determinant lemma (never a d x d matrix): with
    ``M = I + W_o' diag(noise_o)^-1 W_o`` and ``b = W_o' diag(noise_o)^-1 (x_o - mean_o)``,
    the quadratic form is ``sum (x_o - mean_o)^2 / noise_o - b' M^-1 b`` and the log-determinant
    ``log det M + sum log noise_o``. A row with nothing observed scores 0.
    """
    ll = np.empty(len(x))
    for rows, log_likelihood, _, _ in _observed_posterior(
        x, loadings, noise_variance, mean, observed
    ):
        ll[rows] = log_likelihood
    return ll


def linear_fill(x, loadings, noise_variance, mean, observed, how, rng=None):
    """``(observed_log_likelihood, filled rows)`` under the linear model: "mean" fills with
    ``E[x | x_observed] = mean + W E[z | x_observed]``, "draw" with a draw of x given the
    observed cells (z from its Gaussian posterior ``N(M^-1 b, M^-1)``, then the noise).
    Observed cells are returned as given (in float64)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(loadings, np.float64)
    noise = np.asarray(noise_variance, np.float64)
    ll = np.empty(len(x))
    filled = np.empty_like(x)
    for rows, log_likelihood, chol, half in _observed_posterior(x, w, noise, mean, observed):
        ll[rows] = log_likelihood
        if how == "draw":  # z = M^-1 b + L^-T u, u ~ N(0, I): covariance L^-T L^-1 = M^-1
            half = half + rng.standard_normal(half.shape)
        chol_t = np.swapaxes(chol, -1, -2)
        z = (np.linalg.solve(chol_t, half.T).T if chol.ndim == 2
             else np.linalg.solve(chol_t, half[:, :, None])[:, :, 0])
        filled[rows] = mean + z @ w.T
        if how == "draw":
            filled[rows] += np.sqrt(noise) * rng.standard_normal(filled[rows].shape)
    if observed is not None:
        filled = np.where(observed, x, filled)
    return ll, filled


def _observed_posterior(x, loadings, noise_variance, mean, observed):
    """Yields ``(rows, log-likelihood, L, L^-1 b)`` per chunk of rows, where ``L L' = M``
    (see :func:`observed_log_likelihood`): one (r, r) L for complete rows, (rows, r, r)
    with holes, in chunks so that those matrices stay small."""
    x = np.asarray(x, np.float64)
    w = np.asarray(loadings, np.float64)
    noise = np.asarray(noise_variance, np.float64)
    residual = x - mean
    if observed is not None:
        residual = np.where(observed, residual, 0.0)
    scaled = w / noise[:, None]  # diag(noise)^-1 W, (d, r)
    b = residual @ scaled  # zero residuals drop the missing cells
    r = w.shape[1]
    eye = np.eye(r)
    squares = np.sum(residual**2 / noise, axis=1)
    log_2pi = np.log(2 * np.pi)
    if observed is None:
        chol = np.linalg.cholesky(eye + w.T @ scaled)
        half = np.linalg.solve(chol, b.T).T  # L^-1 b per row
        logdet = 2 * np.sum(np.log(np.diag(chol))) + np.sum(np.log(noise))
        quad = squares - np.sum(half**2, axis=1)
        yield slice(0, len(x)), -0.5 * (x.shape[1] * log_2pi + logdet + quad), chol, half
        return
    obs = np.asarray(observed, np.float64)
    # M per row is I + sum_j obs_j w_j w_j' / noise_j: one product with the (d, r * r)
    # outer products, in chunks of rows so that the (rows, r, r) matrices stay small.
    outer = (scaled[:, :, None] * w[:, None, :]).reshape(len(noise), r * r)
    n_obs = obs.sum(axis=1)
    log_noise = obs @ np.log(noise)
    step = max(1, 2**20 // (r * r))
    for start in range(0, len(x), step):
        rows = slice(start, start + step)
        chol = np.linalg.cholesky(eye + (obs[rows] @ outer).reshape(-1, r, r))
        half = np.linalg.solve(chol, b[rows][:, :, None])[:, :, 0]
        logdet = 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        logdet += log_noise[rows]
        quad = squares[rows] - np.sum(half**2, axis=1)
        yield rows, -0.5 * (n_obs[rows] * log_2pi + logdet + quad), chol, half
