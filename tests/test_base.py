"""skvae._base: the fit orchestration shared by the estimators (the split, the
standardization of constant and large features, fitted attributes, reproducibility,
warm_start and partial_fit, warnings and verbose output) and pickling.

A fuzz test over shapes, dtypes and value ranges ends the file: fit either succeeds with
finite outputs or raises a ValueError or TypeError.
"""

import copy
import faulthandler
import io
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skvae import VAETransformer

from .conftest import TINY, assert_all_outputs_finite, assert_bitwise_equal, uniform_rows


# Tiny fits stop at max_iter on purpose; that warning says nothing here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:VAETransformer stopped at max_iter:sklearn.exceptions.ConvergenceWarning"
)


# ---------------------------------------------------------------- the split


def test_too_few_rows_for_validation_split():
    with pytest.raises(ValueError, match="n_samples = 1.*early_stopping=False"):
        VAETransformer().fit([[0.5, 0.5]])
    est = VAETransformer(early_stopping=False, max_iter=2).fit([[0.5, 0.5]])
    assert est.transform([[0.5, 0.5]]).shape == (1, 2)


def test_a_split_that_leaves_no_training_rows_names_the_row_count():
    est = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, validation_fraction=0.9)
    with pytest.raises(ValueError, match=r"validation_fraction=0\.9.*n_samples = 5\."):
        est.fit(uniform_rows(n_rows=5))


def test_two_rows_are_enough_for_early_stopping():
    X = uniform_rows(n_rows=2)
    est = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X)
    assert len(est.validation_scores_) == est.n_iter_
    assert_all_outputs_finite(est, X)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_one_row_without_early_stopping_gives_finite_outputs(likelihood):
    X = uniform_rows(n_rows=1)
    est = VAETransformer(2, likelihood=likelihood, **TINY).fit(X)
    assert_all_outputs_finite(est, X)


def test_batch_size_larger_than_data_works(small_params):
    X = np.random.RandomState(0).uniform(size=(20, 3))
    est = VAETransformer(**{**small_params, "batch_size": 1000}).fit(X)
    assert np.all(np.isfinite(est.transform(X)))


# ---------------------------------------------------------- standardization


def test_large_but_representable_values_give_finite_outputs():
    X = uniform_rows() * 1e6 - 5e5
    est = VAETransformer(2, **TINY).fit(X)
    assert_all_outputs_finite(est, X)


@pytest.mark.parametrize("columns", ["one", "all"])
@pytest.mark.parametrize("value", [0.0, 7.0])
def test_constant_features_give_finite_outputs_with_the_gaussian_likelihood(columns, value):
    X = uniform_rows()
    if columns == "one":
        X[:, 1] = value
    else:
        X[:] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NumPy noise from the start
        est = VAETransformer(2, **{**TINY, "max_iter": 5}).fit(X)
    assert_all_outputs_finite(est, X)
    assert np.all(est.noise_variance_ > 0)
    if columns == "all":  # it starts at the exact solution: no loadings, the mean
        assert est.linear_start_ == "ppca"
        np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X, atol=1e-6)


@pytest.mark.slow
def test_constant_features_do_not_change_the_ranking_of_n_components():
    """A constant feature adds the same log-density to every row whatever n_components is
    (its variance is fixed, not learned down towards zero), so it cannot decide which latent
    size scores best."""
    X = StandardScaler().fit_transform(load_wine().data)
    padded = np.hstack([X, np.full((len(X), 3), 7.0)])
    scores = {}
    for name, data in [("plain", X), ("padded", padded)]:
        for k in (1, 5):
            est = VAETransformer(k, hidden_layer_sizes=(16,), max_iter=30, random_state=0)
            scores[name, k] = est.fit(data[::2]).score(data[1::2])
    assert (scores["plain", 5] > scores["plain", 1]) == (scores["padded", 5] > scores["padded", 1])
    shift = -1.5 * np.log(2 * np.pi)  # three features, each log N(7; 7, 1)
    for k in (1, 5):
        assert scores["padded", k] - scores["plain", k] == pytest.approx(shift, abs=0.05)


# -------------------------------------------------------- fitted attributes


def test_fitted_hidden_layer_sizes_are_the_auto_sizes(small_params):
    X = np.random.RandomState(0).uniform(size=(200, 9))
    params = {**small_params, "hidden_layer_sizes": "auto", "max_iter": 1}
    est = VAETransformer(**params).fit(X)
    assert est.hidden_layer_sizes_ == (32, 16)
    widths = [layer.units for layer in est.encoder_.layers if hasattr(layer, "units")]
    assert widths[:2] == [32, 16]


def test_gaussian_noise_variance_and_kl_per_component(fitted_gaussian, fitted):
    assert fitted_gaussian.noise_variance_.shape == (64,)
    assert np.all(fitted_gaussian.noise_variance_ > 0)
    assert fitted.noise_variance_ is None
    assert fitted.kl_per_component_.shape == (4,)
    assert np.all(fitted.kl_per_component_ >= 0)
    assert fitted.kl_per_component_.max() > 0.5  # at least one dimension carries information


def test_kl_per_component_averages_the_training_rows(fitted, digits01):
    mean, log_var = fitted.encode(digits01[0])
    expected = np.mean(0.5 * (np.exp(log_var) + mean**2 - 1 - log_var), axis=0)
    np.testing.assert_allclose(fitted.kl_per_component_, expected, rtol=1e-6)


# ----------------------------------------------------- warnings and verbose


def test_convergence_warning_when_max_iter_cuts_training(digits01):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        VAETransformer(2, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
            digits01[0]
        )


def test_verbose_prints_one_line_per_epoch(digits01, capsys):
    VAETransformer(2, hidden_layer_sizes=(16,), max_iter=3, verbose=1,
                   random_state=0).fit(digits01[0])
    lines = capsys.readouterr().out.strip().splitlines()
    # First the choices made from the data's size, then one line per epoch.
    assert lines[0] == ("VAETransformer: linear start PPCA (init='auto', judged by validation "
                        "rows: 1617 training, 180 validation rows)")
    assert lines[1].startswith("VAETransformer: hidden_layer_sizes=(16,), batch_size=")
    assert "epochs compiled with XLA: " in lines[1] and "learning-rate anneal: off" in lines[1]
    epochs = lines[2:-1]
    assert len(epochs) == 3
    assert epochs[0].startswith("Epoch 1/3") and "val_loss" in epochs[0] and "kl:" in epochs[0]
    # Last, why training ended, what it cost and which weights were kept.
    assert lines[-1].startswith("VAETransformer: reached max_iter=3 after 3 epochs in ")
    assert "s per epoch" in lines[-1] and "; kept " in lines[-1]


def test_verbose_says_why_a_fit_stopped_and_when_the_rate_annealed(capsys):
    rng = np.random.RandomState(0)
    X = np.tanh(rng.randn(3000, 2) @ rng.randn(2, 6)) + 0.1 * rng.randn(3000, 6)
    est = VAETransformer(2, hidden_layer_sizes=(8,), n_iter_no_change=4, kl_warmup=0,
                         max_iter=300, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    last = lines[-1]
    assert last.startswith(f"VAETransformer: stopped at the end of the learning-rate "
                           f"anneal after {est.n_iter_} epochs in ")
    assert f"-> {est.learning_rate_:g} (annealed from epoch " in last
    # Once the anneal runs, each epoch line counts down to the fit's end.
    annealing = [line for line in lines if "annealing: " in line]
    assert annealing and annealing[-1].split("annealing: ")[1].startswith("0 epochs left")
    lefts = [int(line.split("annealing: ")[1].split()[0]) for line in annealing]
    assert lefts == list(range(lefts[0], -1, -1))
    # history_ says what rate each epoch ran at and what it cost.
    rates, seconds = est.history_["learning_rate"], est.history_["seconds"]
    assert len(rates) == len(seconds) == est.n_iter_
    assert rates[0] == pytest.approx(est.learning_rate_ * 100, rel=1e-3)
    assert rates[-1] < rates[-len(lefts)] and all(s > 0 for s in seconds)


def test_verbose_zero_is_silent(digits01, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        VAETransformer(2, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
            digits01[0]
        )
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# ----------------------------------------------- warm_start and partial_fit


def test_warm_start_continues_from_previous_weights(digits01):
    X = digits01[0]
    params = dict(likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=3,
                  early_stopping=False, random_state=0)
    est = VAETransformer(2, warm_start=True, **params).fit(X)
    first = est.loss_curve_[-1]
    est.fit(X)
    assert est.loss_curve_[0] < first + 1.0  # no restart from random weights
    cold = VAETransformer(2, **params).fit(X)
    assert est.loss_curve_[-1] < cold.loss_curve_[-1]
    est.set_params(n_components=3)
    with pytest.raises(ValueError, match=r"\['n_components'\] changed"):
        est.fit(X)


@pytest.mark.slow
def test_warm_start_keeps_the_validation_rows_and_its_pickle_the_optimizer():
    """A warm-started fit (int random_state) holds out the first fit's validation rows, so
    early stopping never judges on rows it trained on: with weights that barely move, the
    held-out scores stay where the first fit left them (they had jumped by 0.4 nats on
    another split). And warm_start switched on after fitting still pickles the optimizer
    state, so a pickle continues as the original does."""
    X = StandardScaler().fit_transform(load_wine().data)
    still = VAETransformer(2, warm_start=True, max_iter=2, learning_rate=1e-12, kl_warmup=0,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before = still.fit(X).validation_scores_[-1]
        after = still.fit(X).validation_scores_
    np.testing.assert_allclose(after, before, atol=1e-4)
    est = VAETransformer(2, max_iter=4, early_stopping=False, random_state=0).fit(X)
    est.set_params(warm_start=True)
    copied = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X), copied.fit(X)
    assert_bitwise_equal(est.transform(X), copied.transform(X))


def test_partial_fit_continues_training(digits01):
    X = digits01[0]
    est = VAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(32,), random_state=0)
    for _ in range(4):
        est.partial_fit(X)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    # optimizer state survives pickling, so training continues seamlessly after it
    again = pickle.loads(pickle.dumps(est)).partial_fit(X)
    est.partial_fit(X)
    assert_bitwise_equal(again.transform(X), est.transform(X))


# -------------------------------------------- reproducibility & persistence


def test_two_fits_are_bitwise_identical_and_leave_global_seeds_alone(digits01, small_params):
    X = digits01[0][:500]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = VAETransformer(3, **small_params).fit(X)
    VAETransformer(5, **{**small_params, "random_state": 9}).fit(X)  # fits in between
    b = VAETransformer(3, **small_params).fit(X)
    assert np.array_equal(np.random.get_state()[1], before)
    assert_bitwise_equal(a.transform(X), b.transform(X))
    assert_bitwise_equal(a.score_samples(X), b.score_samples(X))
    assert a.loss_curve_ == b.loss_curve_
    c = VAETransformer(3, **{**small_params, "random_state": 1}).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


_FRESH_PROCESS = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from skvae import VAETransformer
    X = load_digits().data[:300] / 16.0
    mode = sys.argv[1]
    if mode == "fit":
        est = VAETransformer(3, likelihood="bernoulli", hidden_layer_sizes=(32,),
                             max_iter=10, batch_size=64, random_state=0).fit(X)
    else:
        with open(sys.argv[2], "rb") as f:
            est = pickle.load(f)
    np.save(sys.stdout.buffer, np.concatenate([
        est.transform(X).ravel(), est.inverse_transform(est.transform(X)).ravel(),
        est.score_samples(X), est.sample(4, random_state=0).ravel()]))
    """
)


def _run_fresh(*args):
    import io

    out = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, *args], capture_output=True, check=True
    ).stdout
    return np.load(io.BytesIO(out))


@pytest.mark.slow
def test_fresh_process_fit_and_pickle_are_bitwise_identical(tmp_path):
    X = np.load  # noqa: F841  (the subprocesses load their own data)
    from sklearn.datasets import load_digits

    X = load_digits().data[:300] / 16.0
    est = VAETransformer(3, likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=10,
                         batch_size=64, random_state=0).fit(X)
    here = np.concatenate([
        est.transform(X).ravel(), est.inverse_transform(est.transform(X)).ravel(),
        est.score_samples(X), est.sample(4, random_state=0).ravel()])
    path = tmp_path / "vae.pkl"
    path.write_bytes(pickle.dumps(est))
    assert_bitwise_equal(_run_fresh("load", str(path)), here)
    assert_bitwise_equal(_run_fresh("fit"), here)


_LOAD_AND_RUN = textwrap.dedent(
    """
    import sys
    import joblib
    import numpy as np
    est = joblib.load(sys.argv[1])
    X = np.load(sys.argv[2])
    Z = est.transform(X)
    np.savez(sys.stdout.buffer, transform=Z, inverse_transform=est.inverse_transform(Z),
             score_samples=est.score_samples(X), sample=est.sample(4, random_state=0))
    """
)


@pytest.mark.slow
def test_joblib_dump_loads_bitwise_equal_in_a_fresh_process(digits01, tmp_path):
    X = digits01[0][:300]
    est = VAETransformer(3, hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X)
    Z = est.transform(X)
    here = dict(transform=Z, inverse_transform=est.inverse_transform(Z),
                score_samples=est.score_samples(X), sample=est.sample(4, random_state=0))
    import joblib

    joblib.dump(est, tmp_path / "vae.joblib")
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_RUN, str(tmp_path / "vae.joblib"),
         str(tmp_path / "X.npy")],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode()
    there = np.load(io.BytesIO(done.stdout))
    for name, value in here.items():
        assert_bitwise_equal(there[name], value)


@pytest.mark.parametrize(
    "roundtrip",
    [
        lambda e: pickle.loads(pickle.dumps(e)),
        copy.deepcopy,
    ],
    ids=["pickle", "deepcopy"],
)
def test_roundtrips_keep_the_networks(fitted, digits01, roundtrip):
    X, _ = digits01
    other = roundtrip(fitted)
    assert_bitwise_equal(other.transform(X), fitted.transform(X))
    assert_bitwise_equal(other.score_samples(X), fitted.score_samples(X))
    mean, _ = other.encoder_(X[:5].astype(np.float32))
    np.testing.assert_allclose(mean.numpy(), fitted.transform(X[:5]), atol=1e-5)


def test_joblib_roundtrip_and_unfitted_pickle(fitted, digits01, tmp_path):
    import joblib

    X, _ = digits01
    joblib.dump(fitted, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    assert_bitwise_equal(loaded.transform(X), fitted.transform(X))
    unfitted = pickle.loads(pickle.dumps(VAETransformer(3, beta=0.5)))
    assert unfitted.get_params()["beta"] == 0.5


def test_an_unfitted_estimator_pickles_and_then_fits_like_the_original():
    X = uniform_rows()
    est = VAETransformer(2, **TINY)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    assert_bitwise_equal(loaded.fit(X).transform(X), est.fit(X).transform(X))


def test_pickle_holds_the_weights_and_no_optimizer_state_unless_warm_starting(digits01):
    X = digits01[0][:300]
    params = dict(hidden_layer_sizes=(64,), max_iter=2, early_stopping=False, random_state=0)
    cold = VAETransformer(2, **params).fit(X)
    warm = VAETransformer(2, warm_start=True, **params).fit(X)
    n_weights = (cold.encoder_.count_params() + cold.decoder_.count_params()
                 + cold.noise_variance_.size)
    weight_bytes = 4 * n_weights  # float32
    cold_size, warm_size = len(pickle.dumps(cold)), len(pickle.dumps(warm))
    print(f"weights {weight_bytes} B, pickle {cold_size} B (warm_start=False), "
          f"{warm_size} B (warm_start=True)")
    assert weight_bytes <= cold_size < 3 * weight_bytes + 64 * 1024
    # Adam keeps two moments per weight: only the warm-start pickle carries them.
    assert warm_size - cold_size > 1.5 * weight_bytes
    assert cold_size < 1.25 * weight_bytes + 16 * 1024


# ------------------------------------------------------------------ fuzzing


@st.composite
def _datasets(draw):
    n_rows = draw(st.integers(1, 50))
    n_features = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    scale = draw(st.sampled_from([1.0, 1e3, 1e6]))
    kind = draw(st.sampled_from(["uniform", "normal", "negative", "zeros"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = {
        "uniform": lambda: rng.uniform(0, scale, (n_rows, n_features)),
        "normal": lambda: rng.normal(0, scale, (n_rows, n_features)),
        "negative": lambda: -rng.uniform(0, scale, (n_rows, n_features)),
        "zeros": lambda: np.zeros((n_rows, n_features)),
    }[kind]()
    constant = draw(st.lists(st.integers(0, n_features - 1), max_size=3))
    X[:, constant] = draw(st.sampled_from([0.0, 1.0, -scale]))
    likelihood = draw(st.sampled_from(["gaussian", "bernoulli"]))
    if likelihood == "bernoulli" and draw(st.booleans()):  # sometimes in [0, 1], sometimes not
        span = X.max() - X.min()
        X = (X - X.min()) / span if span > 0 else np.zeros_like(X)
        if dtype == np.int64:
            X = np.round(X)
    return X.astype(dtype), likelihood, draw(st.booleans())


@pytest.fixture
def hang_guard():
    """Kill the run with a traceback of every thread if the fuzz test hangs."""
    faulthandler.dump_traceback_later(240, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=_datasets())
def test_fuzz_fit_transform_succeeds_finitely_or_raises_value_or_type_error(hang_guard, data):
    X, likelihood, early_stopping = data
    est = VAETransformer(2, hidden_layer_sizes=(4,), max_iter=2, likelihood=likelihood,
                         early_stopping=early_stopping, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        Z = est.transform(X)
        scores = est.score_samples(X)
    except (ValueError, TypeError):
        return
    out_dtype = np.float32 if X.dtype == np.float32 else np.float64
    assert Z.shape == (len(X), 2) and Z.dtype == out_dtype
    assert scores.shape == (len(X),) and scores.dtype == out_dtype
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(scores))
    assert np.all(np.isfinite(est.inverse_transform(Z)))
