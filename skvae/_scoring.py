"""Importance-weighted scores and fills of fitted VAEs in NumPy: the IWAE log-likelihood
of rows (of their observed cells) and conditional means or draws of their missing cells."""

import numpy as np
from scipy.special import logsumexp

from skvae._config import LOG_VAR_RANGE
from skvae._likelihoods import _LOG_2PI, decoder_means, draw, reconstruction_log_likelihood
from skvae._runtime import THREADS


def prior_where_nothing_observed(mean, log_var, observed):
    """The posterior of a row with no observed cell is the prior: mean 0, log-variance 0.
    (Its importance weights are then all 1 and its log-likelihood 0.)"""
    if observed is not None:
        empty = ~observed.any(axis=1)
        if empty.any():
            mean[empty] = 0
            log_var[empty] = 0
    return mean, log_var


def importance_sampling(
    x, encoder, decoder, likelihood, eps, x_log_var=None, *, encoder_input=None,
    observed=None, fill=None, rng=None, max_elements=2**22, blocks=(), to_data=None,
):
    """Importance-weighted estimate of log p(x) per row (the IWAE bound, Burda et al. 2016),
    and optionally the conditional mean of the decoder given the row (MIWAE's imputation,
    Mattei & Frellsen 2019).

    ``decoder`` must return what :func:`reconstruction_log_likelihood` reads (logits for
    Bernoulli, see :meth:`skvae._runtime.DenseStack.logits`). ``eps`` is a fixed (K, n_components) matrix
    of standard normal draws shared by every row, so the estimate is deterministic and each
    row's value does not depend on the other rows. ``encoder_input`` is what the encoder
    reads (default ``x``; a model fitted with missing values reads ``[x, missing]``);
    ``observed`` marks the entries the likelihood counts (None: all).

    ``fill``: None, "mean" or "draw". "mean" also returns ``sum_k w_k E[x | z_k]`` with the
    self-normalised weights ``w_k`` (the importance-sampling estimate of ``E[x | x_obs]``:
    decoder means, probabilities for Bernoulli); "draw" picks one ``z_k`` per row with
    probability ``w_k`` (sampling importance resampling) and draws x from ``p(x | z_k)``
    with ``rng``. ``blocks``: the categorical columns' one-hot ranges (see
    :func:`reconstruction_log_likelihood`); their fills are level probabilities, their draws
    one-hot. ``to_data``: for "mean", a function of a (rows, features) array of decoder
    means giving ``E[x | z_k]`` in the data's units (a non-linear way back from the
    network's scale must average in the data's units). Rows are processed in chunks of at
    most ``max_elements`` decoded values.
    Returns ``(log_likelihood, filled or None)``.
    """
    k = eps.shape[0]
    eps = eps.astype(x.dtype)
    encoder_input = x if encoder_input is None else encoder_input
    scores = np.empty(x.shape[0], dtype=x.dtype)
    filled = None if fill is None else np.empty_like(x)
    chunk = max(1, max_elements // (k * max(x.shape[1], 1)))

    def run(rows):
        xc = x[rows]
        obs = None if observed is None else observed[rows][:, None, :]
        mean, log_var = encoder(encoder_input[rows])
        if obs is not None:
            mean, log_var = prior_where_nothing_observed(mean, log_var, obs[:, 0])
        log_var = np.clip(log_var, *LOG_VAR_RANGE)
        std = np.exp(log_var / 2)
        z = mean[:, None, :] + std[:, None, :] * eps[None, :, :]  # (n, K, d)
        (decoded,) = decoder(z.reshape(-1, z.shape[-1]))
        decoded = decoded.reshape(len(xc), k, -1)
        log_px_z = reconstruction_log_likelihood(
            xc[:, None, :], decoded, likelihood, x_log_var, obs, overwrite_decoded=fill is None,
            blocks=blocks,
        )
        log_pz = -0.5 * np.sum(_LOG_2PI + z**2, axis=-1)
        log_qz_x = -0.5 * np.sum(_LOG_2PI + log_var[:, None, :] + eps[None] ** 2, axis=-1)
        log_w = log_px_z + log_pz - log_qz_x
        scores[rows] = logsumexp(log_w, axis=1) - np.log(k)
        if fill is not None:
            means = decoder_means(decoded, likelihood, blocks)
            if to_data is not None and fill == "mean":
                means = to_data(means.reshape(-1, means.shape[-1])).reshape(means.shape)
            filled[rows] = _fill(means, log_w, likelihood, x_log_var, fill, rng, blocks)

    # Each row's chunk is fixed by max_elements alone, so the threads change no result;
    # draws stay on one thread, in order, so that they follow rng's stream.
    chunks = [slice(start, start + chunk) for start in range(0, x.shape[0], chunk)]
    if fill == "draw":
        with THREADS.single_blas():
            for rows in chunks:
                run(rows)
    else:
        THREADS.map(run, chunks)
    return scores, filled


def _fill(means, log_w, likelihood, x_log_var, how, rng, blocks=()):
    weights = np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))  # (n, K)
    if how == "mean":
        return np.einsum("nk,nkd->nd", weights, means).astype(means.dtype)
    cumulative = np.cumsum(weights, axis=1)
    u = rng.uniform(size=(len(weights), 1)) * cumulative[:, -1:]
    pick = np.minimum((cumulative < u).sum(axis=1), weights.shape[1] - 1)
    chosen = means[np.arange(len(means)), pick]
    return draw(chosen, likelihood, x_log_var, rng, blocks)


def importance_log_likelihood(x, encoder, decoder, likelihood, eps, x_log_var=None, **kwargs):
    """:func:`importance_sampling`'s log-likelihood alone."""
    return importance_sampling(x, encoder, decoder, likelihood, eps, x_log_var, **kwargs)[0]
