"""Per-entry and per-row log-likelihoods log p(x | z) in NumPy: the same formulas as
:mod:`skvae.losses` (tested against them), and the latent KL per component."""

import numpy as np

from skvae._config import LOG_VAR_RANGE
from skvae._runtime import _sigmoid

_LOG_2PI = np.log(2.0 * np.pi)


def kl_per_component(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, 1)) per latent component, averaged over rows."""
    log_var = np.clip(log_var, *LOG_VAR_RANGE)
    return np.mean(-0.5 * (1 + log_var - np.exp(log_var) - mean**2), axis=0)


def reconstruction_log_likelihood(
    x, decoded, likelihood, x_log_var=None, observed=None, overwrite_decoded=False, blocks=()
):
    """log p(x | z) per row, the same formulas as :mod:`skvae.losses`.

    ``decoded`` is the decoder's last Dense output: logits for Bernoulli, the mean for
    Gaussian (with ``x_log_var`` the per-feature log-variance). ``observed`` (same shape as
    ``x``, or None for all) restricts the sum to the observed entries: the likelihood of the
    observed part of a row, whatever stands in its missing cells. ``overwrite_decoded``: the
    caller no longer needs ``decoded``, which may then serve as scratch space. ``blocks``:
    the (start, stop) column ranges of one-hot categorical columns, whose ``decoded`` values
    are softmax logits (see :func:`categorical_log_probabilities`).
    """
    if likelihood == "bernoulli" and not blocks and observed is None and x.ndim == decoded.ndim == 3 and (
        x.shape[1] == 1
    ):
        return _bernoulli_samples_log_likelihood(x, decoded, overwrite_decoded)
    terms = entry_log_likelihood(x, decoded, likelihood, x_log_var, blocks)
    if observed is not None:
        terms = np.where(observed, terms, 0)
    return np.sum(terms, axis=-1)


def _bernoulli_samples_log_likelihood(x, logits, overwrite=False):
    """``sum_j x_j l_j - softplus(l_j)`` for rows x (n, 1, d) and K logits each (n, K, d).

    The same value as the entrywise formula, in fewer passes over the n K d logits (which it
    overwrites with ``overwrite``): the first sum is one (K, d) @ (d,) product per row, and
    softplus(l) = max(l, 0) + log(1 + exp(-|l|)), with max(l, 0) = (l + |l|) / 2 (exact). The
    log is taken of products: the factors 1 + exp(-|l|) lie in (1, 2], so a product of up to 64
    of them stays finite in float32 (< 2**64), and d is halved while it is even and the groups
    stay within 64: a row needs d / 64 to d logs instead of d (784 pixels halve four times: 49
    logs of products of 16; 1,024 pixels: 16 of 64). Faster than a max, abs, exp and log of
    every entry, with the same error against a float64 reference (figures: the "Tuning
    constants" page, "NumPy inference"). log(1 + t), not log1p: see ``skvae._runtime``'s note
    above ``_elu``.
    """
    x_dot_l = np.matmul(logits, np.swapaxes(x, -1, -2).astype(logits.dtype, copy=False))
    tail = np.abs(logits)
    twice_positive = np.add(logits, tail, out=logits if overwrite else None)  # exact
    positive = twice_positive.sum(axis=-1)
    positive *= 0.5
    np.negative(tail, out=tail)
    np.exp(tail, out=tail)
    tail += 1
    d = tail.shape[-1]
    while d % 2 == 0 and tail.shape[-1] // d < 64:  # halve while a group stays <= 64
        d //= 2
        np.multiply(tail[..., :d], tail[..., d : 2 * d], out=tail[..., :d])
    softplus = np.log(tail[..., :d]).sum(axis=-1)
    softplus += positive
    return x_dot_l[..., 0] - softplus


def decoder_means(decoded, likelihood, blocks=()):
    """E[x | z] from the decoder's last Dense output: probabilities (the sigmoid of logits)
    for Bernoulli, the output itself for Gaussian, and in each categorical block the softmax
    of its logits. A new array unless Gaussian without blocks."""
    means = _sigmoid(decoded) if likelihood == "bernoulli" else decoded
    if blocks and means is decoded:
        means = decoded.copy()
    for start, stop in blocks:
        means[..., start:stop] = np.exp(categorical_log_probabilities(decoded[..., start:stop]))
    return means


def categorical_log_probabilities(logits):
    """log softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def draw(means, likelihood, x_log_var, rng, blocks=()):
    """x drawn from p(x | z) given the decoder's means (probabilities for Bernoulli and for
    categorical blocks, see :func:`decoder_means`) on the network's scale: a Bernoulli draw
    per pixel, or Gaussian noise with the learned per-feature variance; one level per
    categorical block, one-hot."""
    if likelihood == "bernoulli":
        out = (rng.uniform(size=means.shape) < means).astype(means.dtype)
    else:
        std = np.exp(0.5 * np.clip(x_log_var, *LOG_VAR_RANGE)).astype(means.dtype)
        out = means + std * rng.standard_normal(means.shape).astype(means.dtype)
    if blocks:
        u = rng.uniform(size=(means.shape[0], len(blocks)))
        for i, (start, stop) in enumerate(blocks):
            cumulative = np.cumsum(means[:, start:stop], axis=1)
            level = np.minimum((cumulative < u[:, i : i + 1] * cumulative[:, -1:]).sum(axis=1),
                               stop - start - 1)
            out[:, start:stop] = 0
            out[np.arange(len(out)), start + level] = 1
    return out


def entry_log_likelihood(x, decoded, likelihood, x_log_var=None, blocks=()):
    """log p(x_j | z) for each entry (see :func:`reconstruction_log_likelihood`); in a
    categorical block, the log-probability of the level where x is 1, 0 elsewhere."""
    if likelihood == "bernoulli":
        logits = decoded
        terms = np.maximum(logits, 0) - logits * x + np.log(1 + np.exp(-np.abs(logits)))
    else:
        log_var = np.clip(x_log_var, *LOG_VAR_RANGE).astype(x.dtype)
        terms = _LOG_2PI + log_var + (x - decoded) ** 2 * np.exp(-log_var)
        terms *= 0.5
    terms = -terms
    for start, stop in blocks:
        terms[..., start:stop] = x[..., start:stop] * categorical_log_probabilities(
            decoded[..., start:stop])
    return terms
