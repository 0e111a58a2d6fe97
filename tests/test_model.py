"""skvae._model: builders, the Keras VAE model and the compiled epoch runner."""

import numpy as np
import pytest

from skvae import _engine, _model
from skvae._tf import import_keras

keras = import_keras()


def _vae(likelihood="bernoulli", n_features=6, seed=0):
    seeds = iter(range(seed, seed + 20))
    encoder = _model.build_encoder(n_features, (8,), 2, "selu", seeds)
    decoder = _model.build_decoder(2, (8,), n_features, "selu", likelihood, seeds)
    return _model.VAE(encoder, decoder, likelihood, seed=next(seeds))


def _data(n=200, n_features=6):
    rng = np.random.RandomState(0)
    return (rng.uniform(size=(n, n_features)) > 0.5).astype(np.float32)


def test_builders_make_the_documented_shapes():
    vae = _vae()
    mean, log_var = vae.encoder(np.zeros((3, 6), np.float32))
    assert tuple(mean.shape) == (3, 2) and tuple(log_var.shape) == (3, 2)
    out = keras.ops.convert_to_numpy(vae.decoder(np.zeros((3, 2), np.float32)))
    assert out.shape == (3, 6) and out.min() >= 0 and out.max() <= 1  # probabilities


def test_keras_users_can_compile_and_fit_the_vae_model():
    vae = _vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(_data(), epochs=5, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "reconstruction", "kl"}
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_vae_config_round_trip(tmp_path):
    vae = _vae("gaussian")
    vae(np.zeros((1, 6), np.float32))
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.likelihood == "gaussian"
    x = _data(5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(vae(x)), rtol=1e-6
    )


@pytest.mark.parametrize("jit_compile", [False, True])
def test_epoch_runner_trains_and_masks_the_last_partial_batch(jit_compile):
    import tensorflow as tf

    x = tf.constant(_data(70))
    vae = _vae()
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

    data = _data(34)
    data[33] = 1e3  # an outlier that only padded slots point at
    results = []
    for pad_index in (0, 33):
        vae = _vae(seed=3)
        runner = _engine.EpochRunner(vae, _engine.make_optimizer("sgd", 0.1), 32, False)
        order = np.full(64, pad_index, dtype=np.int32)
        order[:33] = np.arange(33)  # 33 real rows: one full batch and one row
        runner._epoch(tf.constant(data), tf.constant(order), tf.constant(33),
                      tf.constant(1.0), tf.zeros((64, 2)))
        results.append([w.copy() for w in vae.get_weights()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


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
