"""The training schedule around :class:`skvae._engine.EpochRunner`: epochs, KL warm-up, early
stopping on the held-out negative ELBO, the learning-rate anneal, and recovery from
divergence.

With enough validation rows (``anneal_share``), training runs at its learning rate until the
held-out loss plateaus, then anneals the rate along half a cosine down to a
``anneal_factor``-th of it over a number of epochs proportional to those already run, and
stops at the anneal's end (keeping the best epoch). Where the plateau comes cannot be known
ahead, so the anneal's length is set when it does: the "decay phase" of a
warmup-stable-decay schedule, started by the data.

The starting weights are a candidate like any epoch's: with validation rows their held-out
loss is computed before the first epoch, and if no epoch beats it they are the ones kept (a
Gaussian VAE starts at the PPCA / FA solution, so training can only improve on it there).
An epoch has *diverged* when its loss is not finite, its weights are not, or its loss has
grown by orders of magnitude (``BLOW_UP``) over the best so far: training goes back to the
best weights (with validation rows; else the last finite ones) and runs the epoch again
with a fresh optimizer at the learning rate divided by ``LR_BACKOFF``, at most
``LR_RETRIES`` times per call; past those, training stops and the best finite weights are
restored.

Framework-neutral bookkeeping (no scikit-learn): it reports what happened in a
:class:`TrainingResult` and the caller decides which warnings to raise.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from skvae import _config


def beta_at(epoch, beta, kl_warmup):
    """β for a 0-based epoch: ramps linearly from ``beta / kl_warmup`` up to ``beta``."""
    if kl_warmup <= 0:
        return float(beta)
    return float(beta) * min(1.0, (epoch + 1) / kl_warmup)


@dataclass
class TrainingResult:
    n_epochs: int = 0
    diverged: bool = False
    stopped_early: bool = False
    still_improving: bool = False
    start_val_loss: float = None
    learning_rate: float = None
    retried_at: list = field(default_factory=list)
    anneal: tuple = None  # (first epoch, epochs) of the learning-rate anneal, if one ran
    anneal_ended: bool = False  # the fit stopped at the anneal's end
    history: dict = field(default_factory=dict)


HISTORY_KEYS = ("loss", "reconstruction", "kl", "beta", "val_loss", "val_reconstruction", "val_kl",
                "learning_rate", "seconds")


def train(
    runner,
    x,
    rng,
    *,
    rows=None,
    max_epochs,
    beta,
    kl_warmup=0,
    first_epoch=0,
    x_val=None,
    val_eps=None,
    n_iter_no_change=10,
    tol=1e-4,
    learning_rate=None,
    lr_retries=0,
    lr_backoff=_config.LR_BACKOFF,
    anneal_share=None,
    anneal_factor=_config.LR_ANNEAL_FACTOR,
    progress_fraction=None,
    report=None,
):
    """Train ``runner.vae`` for up to ``max_epochs`` epochs.

    Parameters
    ----------
    runner : EpochRunner
    x : tf.Tensor holding the training rows (and possibly others).
    rng : numpy RandomState, for the per-epoch shuffles and sampling noise.
    rows : int array or None
        Indices of the training rows in ``x`` (None: all). Indexing avoids a second copy of
        the data for the train / validation split.
    first_epoch : int
        Epochs already trained before this call (drives the KL warm-up).
    x_val, val_eps : validation rows and fixed noise, or None (no early stopping).
    learning_rate : float or None
        The learning rate ``runner.optimizer`` was loaded with (None: read it from the
        optimizer, in its float32).
    lr_retries : int
        Diverged epochs to undo and run again from the best weights so far, each with a
        fresh optimizer state and the learning rate divided by ``lr_backoff`` (it stays
        lowered for the rest of the call).
    anneal_share : float or None
        With at least ``LR_ANNEAL_MIN_VALIDATION_ROWS`` validation rows: the first plateau of
        ``n_iter_no_change // 2`` epochs sends training back to the best weights and starts
        an anneal of the learning rate (half a cosine, from the rate down to the rate divided
        by ``anneal_factor``) over this share of the epochs run so far (at least
        ``n_iter_no_change // 2``); its end stops the fit (see ``LR_ANNEAL_SHARE``). None:
        no anneal.
    progress_fraction : float or None
        With the anneal on: a window of ``n_iter_no_change // 2`` epochs in which the best
        held-out loss gained less than this fraction of all it has gained since the first
        epoch also counts as a plateau (see ``PROGRESS_FRACTION``).
    report : callable(epoch, record) or None, called after every epoch with the epoch's
        figures (``HISTORY_KEYS``, and during the anneal ``epochs_left``: those it has left).

    Returns a :class:`TrainingResult`; ``start_val_loss`` is the starting weights' held-out
    loss (None without validation rows), ``learning_rate`` the optimizer's learning rate at
    the end and ``retried_at`` the ``(epoch, learning_rate)`` of each diverged try that was
    run again.

    The weights are snapshotted before every epoch (a copy of a few MB at most) so that a
    diverging epoch can be undone; with validation data the best epoch's weights are kept
    and restored at the end.
    """
    vae = runner.vae
    result = TrainingResult(history={key: [] for key in HISTORY_KEYS})
    rows = np.arange(int(x.shape[0])) if rows is None else np.asarray(rows)
    # The current weights and optimizer state, read once per epoch (in one call).
    weights, optimizer_state = runner.read_state()
    since_best = 0
    if x_val is not None:
        val_recon, val_kl = runner.evaluate(x_val, val_eps)
        best_loss = val_recon + beta * val_kl
        best_loss = best_loss if np.isfinite(best_loss) else np.inf
    else:
        best_loss = np.inf
    best_weights = weights
    result.start_val_loss = best_loss if x_val is not None else None
    # The blow-up test compares training losses with the best so far, starting from the
    # held-out loss of the starting weights (the same quantity, nats per row) when known.
    best_train = best_loss
    if learning_rate is None:
        learning_rate = float(np.asarray(runner.optimizer.learning_rate))
    if x_val is None or int(x_val.shape[0]) < _config.LR_ANNEAL_MIN_VALIDATION_ROWS:
        anneal_share = None
    # The best held-out loss after each epoch; the anneal's first epoch, length and top rate.
    bests, window = [], max(1, n_iter_no_change // 2)
    anneal_at = anneal_length = top_rate = None
    epoch = 0
    # The sampling noise of every epoch: float32 normals from NumPy's fast generator, seeded
    # from the caller's random state (see EpochRunner on why not in the graph) and the
    # epochs already trained, so that a warm-started refit with an int random_state (the
    # same RandomState again) does not replay the noise of the previous call.
    noise_rng = np.random.default_rng([rng.randint(np.iinfo(np.int32).max), first_epoch])
    while epoch < max_epochs:
        if anneal_at is not None:
            learning_rate = annealed_rate(top_rate, anneal_factor,
                                          (epoch - anneal_at + 1) / anneal_length)
            runner.optimizer.learning_rate = learning_rate
        epoch_beta, epoch_rate = beta_at(first_epoch + epoch, beta, kl_warmup), learning_rate
        snapshot, optimizer_snapshot = weights, optimizer_state
        start = time.perf_counter()
        order = rows[rng.permutation(len(rows))]
        noise = noise_rng.standard_normal((len(order), runner.n_components), dtype=np.float32)
        recon, kl, finite, _ = runner.run_epoch(x, order, epoch_beta, noise)
        loss = recon + epoch_beta * kl
        finite = finite and np.isfinite(loss)
        weights, optimizer_state = runner.read_state()
        blown = finite and np.isfinite(best_train) and (
            loss - best_train > _config.BLOW_UP * max(abs(best_train), 1.0)
        )
        if blown or not finite or not all(np.isfinite(w).all() for w in weights):
            if len(result.retried_at) < lr_retries:
                # Back to the best weights (an epoch may have made things much worse without
                # blowing up, e.g. the first step off a sharp linear start) with a fresh
                # optimizer at a lower rate, and a fresh patience to use it.
                result.retried_at.append((first_epoch + epoch, learning_rate))
                learning_rate /= lr_backoff
                if anneal_at is not None:
                    top_rate /= lr_backoff
                weights = best_weights if x_val is not None else snapshot
                vae.set_weights(weights)
                runner.load_optimizer_state(None, learning_rate)
                optimizer_state = runner.optimizer_state()
                since_best = 0
                continue
            vae.set_weights(snapshot)
            runner.load_optimizer_state(optimizer_snapshot)  # moments turned NaN too
            result.diverged = True
            break
        best_train = min(best_train, loss)
        record = {"loss": loss, "reconstruction": recon, "kl": kl, "beta": epoch_beta,
                  "learning_rate": epoch_rate}
        if x_val is not None:
            val_recon, val_kl = runner.evaluate(x_val, val_eps)
            # Judged with the target beta, so warm-up epochs compare like with like.
            val_loss = val_recon + beta * val_kl
            record.update(val_loss=val_loss, val_reconstruction=val_recon, val_kl=val_kl)
            # As sklearn's MLP: patience counts epochs that did not beat the best by tol;
            # the weights kept are those of the best epoch, however small its lead.
            in_warmup = first_epoch + epoch + 1 < kl_warmup
            if val_loss > best_loss - tol and not in_warmup:
                since_best += 1
            elif val_loss <= best_loss - tol:
                since_best = 0
            if val_loss < best_loss:
                best_loss, best_weights = val_loss, weights
            bests.append(best_loss)
            if anneal_share is not None and anneal_at is None and not in_warmup:
                slow = (progress_fraction is not None and len(bests) > window
                        and bests[-1 - window] - bests[-1]
                        < progress_fraction * (bests[0] - bests[-1]))
                if slow or since_best == window:
                    anneal_at, top_rate = epoch + 1, learning_rate
                    anneal_length = max(window, int(np.ceil(anneal_share * (epoch + 1))))
                    result.anneal = (first_epoch + anneal_at, anneal_length)
                    since_best = 0
                    weights = best_weights
                    vae.set_weights(weights)
            elif anneal_at is not None and epoch + 1 - anneal_at >= anneal_length:
                since_best = n_iter_no_change  # the anneal is over: stop here
                result.anneal_ended = True
            if anneal_at is not None:
                record["epochs_left"] = anneal_at + anneal_length - (epoch + 1)
        record["seconds"] = time.perf_counter() - start
        for key in HISTORY_KEYS:
            result.history[key].append(record.get(key, np.nan))
        result.n_epochs = epoch + 1
        if report is not None:
            report(first_epoch + epoch, record)
        epoch += 1
        if x_val is not None and since_best >= n_iter_no_change:
            result.stopped_early = True
            break
    result.learning_rate = learning_rate
    if x_val is not None:
        result.still_improving = not result.stopped_early and not result.diverged
        vae.set_weights(best_weights)
    else:
        losses = result.history["loss"]
        result.still_improving = (
            not result.diverged
            and len(losses) >= 2
            and losses[-1] < min(losses[:-1]) - tol
        )
    return result


def annealed_rate(top, factor, t):
    """The learning rate at the share ``t`` (0 to 1) of the anneal: half a cosine from ``top``
    down to ``top / factor``."""
    low = top / factor
    return float(low + (top - low) * 0.5 * (1.0 + np.cos(np.pi * min(1.0, t))))
