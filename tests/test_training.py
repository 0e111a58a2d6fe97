"""skvae._training: the schedule of epochs: KL warm-up, early stopping (the best epoch's
weights, or the start's, are the ones kept), divergence (an epoch run again from the best
weights at a lower learning rate, finite weights kept), the learning-rate anneal
and the sampling noise of each epoch."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer, _config, _engine, _training

from .conftest import assert_all_outputs_finite, assert_bitwise_equal, binary_rows, tiny_vae


# Tiny fits stop at max_iter on purpose; that warning says nothing here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:VAETransformer stopped at max_iter:sklearn.exceptions.ConvergenceWarning"
)


# ----------------------------------------------------------- train() itself


def _runner(optimizer, learning_rate):
    """An EpochRunner (batches of 16, no XLA) on a fresh tiny Bernoulli VAE."""
    optimizer = _engine.make_optimizer(optimizer, learning_rate)
    return _engine.EpochRunner(tiny_vae(), optimizer, 16, jit_compile=False)


def _train_on_zeros_judged_on_ones(learning_rate):
    """Train a tiny VAE on rows of 0s, judged on rows of 1s: the validation loss first falls
    (the KL term) and then rises (the 0s are learned), or rises at once at a high rate."""
    import tensorflow as tf

    runner = _runner("adam", learning_rate)
    start = runner.vae.get_weights()
    x_val = tf.constant(np.ones((16, 6), np.float32))
    val_eps = np.random.RandomState(1).standard_normal((16, 2)).astype(np.float32)
    result = _training.train(
        runner, tf.constant(np.zeros((64, 6), np.float32)), np.random.RandomState(0),
        max_epochs=30, beta=1.0, x_val=x_val, val_eps=val_eps, n_iter_no_change=3, tol=0.0,
    )
    kept_loss = sum(runner.evaluate(x_val, val_eps))  # beta = 1
    return result, start, runner.vae.get_weights(), kept_loss


def test_train_keeps_the_best_epochs_weights():
    """Early stopping ends training n_iter_no_change epochs after the best one (the last
    epochs are worse) and leaves the best epoch's weights, not the last ones."""
    result, _, _, kept_loss = _train_on_zeros_judged_on_ones(1e-2)
    val_loss = result.history["val_loss"]
    assert result.stopped_early and result.n_epochs == np.argmin(val_loss) + 1 + 3
    assert kept_loss == min(val_loss) < result.start_val_loss


def test_train_keeps_the_starting_weights_when_no_epoch_beats_them():
    """The starting weights are a candidate like any epoch's: when every epoch scores worse
    on the validation rows, train stops after n_iter_no_change epochs and leaves the
    starting weights, bitwise (a Gaussian VAE never ends below its linear start)."""
    result, start, kept, kept_loss = _train_on_zeros_judged_on_ones(1e-1)
    assert result.stopped_early and result.n_epochs == 3
    assert min(result.history["val_loss"]) > result.start_val_loss == kept_loss
    for kept_weights, initial in zip(kept, start):
        assert_bitwise_equal(kept_weights, initial)


def test_train_runs_a_diverged_epoch_again_at_a_tenth_of_the_learning_rate():
    """An epoch whose loss turns non-finite is undone and run again with a fresh optimizer
    at learning_rate / LR_BACKOFF (10), as many times as lr_retries allows; past that,
    training stops with the last finite weights."""
    import tensorflow as tf

    x = tf.constant(binary_rows(64))
    runner = _runner("sgd", 1e12)
    start = runner.vae.get_weights()
    result = _training.train(runner, x, np.random.RandomState(0), max_epochs=3, beta=1.0)
    assert result.diverged and result.n_epochs == 0 and result.retried_at == []
    for kept, initial in zip(runner.vae.get_weights(), start):
        assert_bitwise_equal(kept, initial)

    runner = _runner("sgd", 1e12)
    result = _training.train(runner, x, np.random.RandomState(0), max_epochs=3, beta=1.0,
                             learning_rate=1e12, lr_retries=1)
    assert _config.LR_BACKOFF == 10
    assert result.retried_at == [(0, 1e12)]
    assert result.learning_rate == 1e11
    assert float(np.asarray(runner.optimizer.learning_rate)) == np.float32(1e11)
    assert all(np.isfinite(w).all() for w in runner.vae.get_weights())
    assert np.all(np.isfinite(result.history["loss"]))


# ------------------------------------------------ epochs and early stopping


def test_kl_warmup_ramps_beta(digits01, small_params):
    est = VAETransformer(2, kl_warmup=4, beta=2.0, **small_params).fit(digits01[0])
    assert est.history_["beta"][:5] == [0.5, 1.0, 1.5, 2.0, 2.0]


def test_early_stopping_stops_and_keeps_the_best_epoch(digits01):
    X, _ = digits01
    est = VAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=500,
                         n_iter_no_change=3, tol=1 / 64, random_state=0).fit(X)
    assert est.n_iter_ < 500
    assert len(est.validation_scores_) == est.n_iter_
    scores = est.validation_scores_
    assert est.best_validation_score_ == max(scores)
    # it stopped because none of the last n_iter_no_change=3 epochs beat the best by tol
    # per feature: 64 pixels x 1/64 = 1 nat per row
    for i in range(len(scores) - 3, len(scores)):
        assert scores[i] < max(scores[:i]) + 1.0


@pytest.mark.slow
def test_default_fit_on_digits_stops_early_without_a_warning():
    X = load_digits().data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = VAETransformer(8, random_state=0).fit(X)
    assert est.n_iter_ < est.max_iter


def test_training_noise_is_reproducible_and_new_in_each_warm_started_call(digits01,
                                                                          monkeypatch):
    """The sampling noise of training comes from random_state: two fits with the same int
    seed draw the same noise, and a warm-started refit (the same seed again) draws new
    noise rather than replaying the previous call's."""
    from skvae import _engine

    drawn, run_epoch = [], _engine.EpochRunner.run_epoch

    def watched(self, x, permutation, beta, noise):
        drawn.append(np.array(noise))
        return run_epoch(self, x, permutation, beta, noise)

    monkeypatch.setattr(_engine.EpochRunner, "run_epoch", watched)
    X = digits01[0]
    params = dict(likelihood="bernoulli", hidden_layer_sizes=(16,), max_iter=1,
                  early_stopping=False, random_state=0)
    VAETransformer(2, **params).fit(X)
    est = VAETransformer(2, warm_start=True, **params).fit(X)
    est.fit(X)
    est.fit(X)  # the refits skip building the network: the same draws from random_state
    first, same_seed, second_call, third_call = drawn
    assert_bitwise_equal(same_seed, first)
    assert not np.array_equal(third_call, second_call)
    assert abs(float(third_call.std()) - 1) < 0.05  # standard normal


@pytest.mark.slow
def test_a_plateau_anneals_the_learning_rate_only_with_enough_validation_rows():
    """Half the patience without improvement sends training back to the best weights and
    anneals the rate (down to a LR_ANNEAL_FACTOR-th at most), where the validation rows are
    many enough for the choice among more epochs to mean something; fewer validation rows
    leave the rate alone."""
    from skvae import _config

    rng = np.random.RandomState(0)
    latent = rng.randn(3000, 2)
    X = np.tanh(latent @ rng.randn(2, 6)) + 0.1 * rng.randn(3000, 6)
    params = dict(hidden_layer_sizes=(8,), n_iter_no_change=4, kl_warmup=0, max_iter=300,
                  random_state=0)
    many = VAETransformer(2, **params).fit(X)  # 300 validation rows
    assert many.n_iter_ < 300
    high = _config.LARGE_FIT_LEARNING_RATE  # learning_rate="auto" with the anneal on
    assert high / _config.LR_ANNEAL_FACTOR * 0.999 < many.learning_rate_ < high
    assert many.learning_rate == "auto"
    few = VAETransformer(2, **params).fit(X[:2000])  # 200 validation rows
    assert few.learning_rate_ == _config.LEARNING_RATE
    assert VAETransformer(2, **params, learning_rate=1e-3).fit(X).learning_rate_ < 1e-3


class _ScriptedRunner:
    """Stands in for an EpochRunner whose held-out loss after epoch i is ``losses[i]``."""

    n_components = 1

    def __init__(self, losses):
        import types

        self.losses, self.evaluated = list(losses), 0
        self.optimizer = types.SimpleNamespace(learning_rate=1.0)
        self.vae = types.SimpleNamespace(set_weights=lambda weights: None)

    def read_state(self):
        return [np.zeros(1)], [np.zeros(1)]

    def optimizer_state(self):
        return [np.zeros(1)]

    def run_epoch(self, x, order, beta, noise):
        return 1.0, 0.0, True, 1

    def evaluate(self, x_val, val_eps):
        self.evaluated += 1
        return float(self.losses[self.evaluated - 1]), 0.0


@pytest.mark.parametrize("fraction", [None, _config.PROGRESS_FRACTION])
def test_a_fit_that_gains_little_of_its_total_anneals_and_stops_early(fraction):
    """A held-out loss that keeps creeping down (never a plateau by the patience rule with
    tol=0) starts the anneal once a window of epochs gains under PROGRESS_FRACTION of the
    fit's total gain, and the fit stops at the anneal's end, LR_ANNEAL_SHARE of the epochs
    before it later, at the annealed rate; without the rule the fit runs to max_epochs."""
    epochs = np.arange(400)
    losses = np.concatenate([[500.0], 100 * np.exp(-epochs / 8) - 1e-4 * epochs + 200])
    runner = _ScriptedRunner(losses)
    x = np.zeros((512, 1), np.float32)
    result = _training.train(
        runner, x, np.random.RandomState(0), max_epochs=300, beta=1.0, x_val=x,
        val_eps=np.zeros((512, 1), np.float32), n_iter_no_change=20, tol=0.0,
        learning_rate=1.0, anneal_share=0.5, anneal_factor=100.0, progress_fraction=fraction,
    )
    if fraction is None:
        assert result.n_epochs == 300 and result.anneal is None
    else:
        first, length = result.anneal
        assert result.stopped_early and result.n_epochs == first + length < 100
        assert length == max(10, int(np.ceil(0.5 * first)))
        assert result.learning_rate == pytest.approx(0.01)


def test_the_annealed_rate_falls_along_half_a_cosine():
    """The rate starts at the top, passes the midpoint halfway and ends at top / factor."""
    rates = [_training.annealed_rate(1.0, 100.0, t) for t in (0.0, 0.5, 1.0, 2.0)]
    assert rates == pytest.approx([1.0, 0.505, 0.01, 0.01])
    assert all(a > b for a, b in zip(rates[:2], rates[1:3]))


# --------------------------------------------------------------- divergence


_DIVERGING = dict(hidden_layer_sizes=(8,), learning_rate=1e12, optimizer="sgd", max_iter=5,
                  early_stopping=False, random_state=0)


def test_divergence_restores_finite_weights(digits01):
    X = digits01[0] * 1e6  # with a huge learning rate the loss overflows
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        est = VAETransformer(2, hidden_layer_sizes=(16,), learning_rate=1e12, optimizer="sgd",
                             max_iter=20, random_state=0).fit(X)
    assert np.all(np.isfinite(est.transform(X)))
    assert np.all(np.isfinite(est.score_samples(X)))
    assert np.all(np.isfinite(est.sample(3, random_state=0)))


@pytest.mark.parametrize(
    "likelihood, method",
    [("bernoulli", "fit"), ("bernoulli", "partial_fit"), ("gaussian", "partial_fit")],
)
def test_divergence_leaves_finite_outputs(digits01, likelihood, method):
    X = digits01[0][:200]
    if likelihood == "gaussian":
        X = X * 1e6
    est = VAETransformer(2, likelihood=likelihood, **_DIVERGING)
    with pytest.warns(
        ConvergenceWarning, match=r"diverged .* at epoch 1 \(learning_rate=1000000000000\.0\)"
    ):
        getattr(est, method)(X)
    assert_all_outputs_finite(est, X)
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.isfinite(est.score(X))


@pytest.mark.slow
@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_blow_up_keeps_a_usable_epoch_or_raises(digits01, early_stopping):
    """learning_rate=1e6 on data scaled by 100 sends the loss up by orders of magnitude
    without it turning NaN at once: the fit keeps the best usable weights (outputs finite
    and on the data's scale) or refuses with a message naming learning_rate and scaling."""
    X = 100 * digits01[0][:300]
    est = VAETransformer(2, learning_rate=1e6, max_iter=5, early_stopping=early_stopping,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X)
        except ValueError as error:
            assert "learning_rate" in str(error) and "scale" in str(error)
            return
    assert_all_outputs_finite(est, X)
    assert np.abs(est.transform(X)).max() < 1e3
    assert np.abs(est.inverse_transform(est.transform(X))).max() < 1e3 * np.abs(X).max()


def test_lowering_learning_rate_after_divergence_recovers_a_warm_start(digits01):
    """The divergence warning says "Lower learning_rate": with warm_start that must work."""
    X = digits01[0][:200]
    est = VAETransformer(2, **{**_DIVERGING, "optimizer": "adam", "warm_start": True})
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X * 1e6)
    est.set_params(learning_rate=1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "diverged" in m], messages
    assert est.n_iter_ == est.max_iter
    assert_all_outputs_finite(est, X)


@pytest.mark.slow
def test_a_sharp_linear_start_fits_without_warning_and_keeps_its_score():
    """One-hot columns sum to 1, so the linear start is exact along that direction (noise
    variances at the floor) and the first Adam step at learning_rate=1e-3 blows the loss up
    (as on real tables with one-hot or near-collinear columns). The epoch is run again at a
    lower rate: no warning, a validation score at least the linear start's (a held-out
    score as good up to the noise of choosing on 10 validation rows), and the user's
    learning_rate left as given."""
    rng = np.random.RandomState(0)
    onehot = np.eye(3)[rng.randint(3, size=150)]
    X = np.hstack([onehot, onehot @ rng.randn(3, 3) + 0.3 * rng.randn(150, 3)])
    X_train, X_test = X[:100], X[100:]
    est = VAETransformer(2, hidden_layer_sizes=(8,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X_train)
    start = VAETransformer(2, hidden_layer_sizes=(8,), learning_rate=1e-12, max_iter=1,
                           random_state=0).fit(X_train)  # the linear start, unchanged
    assert est.linear_start_ == "fa"
    # The start is a candidate of early stopping: the kept weights are at least as good on
    # the validation rows, and on the 50 test rows as good up to what choosing on 10
    # validation rows can miss (measured over random_state 0-3: 0.11 nats at most).
    assert est.best_validation_score_ >= start.best_validation_score_
    assert est.score(X_test) >= start.score(X_test) - 0.25
    assert est.learning_rate == "auto" and est.learning_rate_ < _config.LEARNING_RATE
    # A warm start continues at the lowered rate rather than diverging again.
    lowered = est.learning_rate_
    est.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*diverged", category=ConvergenceWarning)
        est.fit(X_train)
    assert est.learning_rate_ == lowered
