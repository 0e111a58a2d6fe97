"""skvae._engine: the compiled epoch runner, the cache of compiled trainers and what
repeated fits cost (memory, retracing, log lines)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skvae import _engine

from .conftest import binary_rows, tiny_vae


@pytest.mark.slow
@pytest.mark.parametrize("jit_compile", [False, True])
def test_epoch_runner_trains_and_masks_the_last_partial_batch(jit_compile):
    import tensorflow as tf

    x = tf.constant(binary_rows(70))
    vae = tiny_vae()
    runner = _engine.EpochRunner(vae, _engine.make_optimizer("adam", 1e-2), 32, jit_compile)
    rng = np.random.RandomState(0)
    first = runner.run_epoch(x, rng.permutation(70), 1.0, rng.standard_normal((70, 2)))
    for _ in range(10):
        last = runner.run_epoch(x, rng.permutation(70), 1.0, rng.standard_normal((70, 2)))
    recon, kl, finite, steps = last
    assert finite and steps == 3  # 70 rows in batches of 32: 32 + 32 + 6 (masked)
    assert recon + kl < first[0] + first[1]
    evaluated = runner.evaluate(x, np.zeros((70, 2), np.float32))
    assert np.isfinite(evaluated).all()


def test_padding_rows_get_no_gradient():
    """The last batch is padded to full size; what the padded slots point at must not
    change the weights."""
    import tensorflow as tf

    data = binary_rows(34)
    data[33] = 1e3  # an outlier that only padded slots point at
    results = []
    for pad_index in (0, 33):
        vae = tiny_vae(seed=3)
        runner = _engine.EpochRunner(vae, _engine.make_optimizer("sgd", 0.1), 32, False)
        order = np.full(64, pad_index, dtype=np.int32)
        order[:33] = np.arange(33)  # 33 real rows: one full batch and one row
        runner._epoch(tf.constant(data), tf.constant(order), tf.constant(33),
                      tf.constant(1.0), tf.zeros((64, 2)))
        results.append([w.copy() for w in vae.get_weights()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------- the trainer cache


@pytest.mark.slow
def test_a_reused_trainer_gives_bitwise_the_same_fit_as_a_fresh_one():
    """Refits borrow the compiled trainer of their architecture from the cache; what they
    load into it (weights, optimizer state) is all that decides the result."""
    import warnings

    from sklearn.datasets import load_wine

    from skvae import VAETransformer

    X = load_wine().data
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _engine.TRAINERS.clear()
        fresh = VAETransformer(2, **params).fit(X)
        assert sum(len(v) for v in _engine.TRAINERS._idle.values()) == 1
        VAETransformer(2, **{**params, "random_state": 1}).fit(X)  # other state in between
        reused = VAETransformer(2, **params).fit(X)
    np.testing.assert_array_equal(reused.transform(X), fresh.transform(X))
    np.testing.assert_array_equal(reused.score_samples(X), fresh.score_samples(X))
    assert reused.loss_curve_ == fresh.loss_curve_


def test_refits_on_a_row_more_or_less_feed_the_compiled_trainer_the_same_shapes(monkeypatch):
    """XLA compiles one executable per input shape. The data, the epoch's order and noise
    and the validation rows are padded to shape buckets, so that cross-validation folds a
    row apart reuse the compiled trainer (a new row count cost 2.3 s of compilation on
    6,666 Fashion-MNIST rows, against 0.26 s per epoch)."""
    import warnings

    from skvae import VAETransformer

    seen, init = [], _engine.Trainer.__init__

    def recording(self, *args, **kwargs):
        init(self, *args, **kwargs)
        for name in ("_epoch", "_evaluate"):
            compiled = getattr(self.runner, name)

            def spy(*tensors, _compiled=compiled, _name=name):
                seen.append((_name, tuple(tuple(t.shape) for t in tensors)))
                return _compiled(*tensors)

            setattr(self.runner, name, spy)

    monkeypatch.setattr(_engine.Trainer, "__init__", recording)
    X = np.random.RandomState(0).normal(size=(1002, 8))
    shapes = []
    _engine.TRAINERS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (1001, 1002):
            seen.clear()
            VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X[:n])
            shapes.append(sorted(set(seen)))
    _engine.TRAINERS.clear()
    assert shapes[0] == shapes[1]
    assert ("_evaluate", ((104, 8), (104, 2), ())) in shapes[0]  # 101 validation rows
    assert any(name == "_epoch" and s[0] == (1024, 8) for name, s in shapes[0])


def test_the_trainer_cache_keeps_at_most_its_size_and_gives_each_fit_its_own():
    cache = _engine.TrainerCache(max_size=2)
    made = []

    def make():
        made.append(object())
        return made[-1]

    a = cache.acquire("k", make)
    b = cache.acquire("k", make)  # a is in use: a second trainer
    assert a is not b
    cache.release("k", a)
    cache.release("k", b)
    cache.release("j", cache.acquire("j", make))
    assert sum(len(v) for v in cache._idle.values()) == 2  # the oldest idle one went
    assert cache.acquire("j", make) is made[2]


# ------------------------------------------------------------ repeated fits


@pytest.mark.slow
def test_new_architectures_trigger_no_tensorflow_retracing_warning(caplog):
    # Each trainer traces its own functions; TensorFlow counts traces per wrapped Python
    # function, so a function shared by all trainers (e.g. one lambda's code) would warn
    # "triggered tf.function retracing" in a search over architectures.
    from sklearn.datasets import load_wine

    from skvae import VAETransformer

    X = load_wine().data
    with caplog.at_level("WARNING", logger="tensorflow"):
        for width in range(4, 10):
            VAETransformer(
                2, hidden_layer_sizes=(width,), max_iter=1, early_stopping=False, random_state=0
            ).fit(X)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


_REFIT = textwrap.dedent(
    """
    import gc, json, os, warnings
    from sklearn.exceptions import ConvergenceWarning
    warnings.simplefilter("ignore", ConvergenceWarning)
    import numpy as np
    from skvae import VAETransformer

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    X = np.random.RandomState(0).uniform(size=(200, 16))
    rss = []
    for i in range(8):
        est = VAETransformer(2, hidden_layer_sizes=(16,), max_iter=3, random_state=i).fit(X)
        est.transform(X)
        del est
        gc.collect()  # measure what is kept, not garbage the collector has not reached yet
        rss.append(rss_mb())
    print(json.dumps(rss))
    """
)


@pytest.fixture(scope="module")
def refit_process():
    """A fresh process that fits 8 small estimators (default early stopping) in turn."""
    done = subprocess.run([sys.executable, "-c", _REFIT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.mark.slow
def test_repeated_fits_do_not_grow_memory(refit_process):
    rss, _ = refit_process
    growth = rss[-1] - rss[1]
    print("RSS MB after each fit:", [round(r, 1) for r in rss])
    assert growth < 16, f"RSS grew {growth:.1f} MB over fits 3-8: {rss}"


@pytest.mark.slow
def test_repeated_fits_print_no_tensorflow_warnings(refit_process):
    _, stderr = refit_process
    assert stderr == ""
