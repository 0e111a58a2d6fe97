"""skvae._runtime: the NumPy Dense stacks equal the Keras models, blocked products are
deterministic and within rounding of any batching, and the row threads change no result."""

import numpy as np
import pytest

from skvae import _config, _runtime, _scoring, layers
from skvae._tf import import_keras

from .conftest import (
    assert_bitwise_equal,
    assert_equal_up_to_rounding,
    keras_models,
    rounding_bound,
)

keras = import_keras()


@pytest.mark.parametrize("activation", _config.ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_forward_equals_keras(activation, dtype):
    encoder, decoder = keras_models(activation)
    x = np.random.RandomState(0).normal(size=(50, 7)).astype(dtype)
    mean, log_var = _runtime.DenseStack.from_keras(encoder)(x)
    k_mean, k_log_var = (keras.ops.convert_to_numpy(t) for t in encoder(x.astype(np.float32)))
    np.testing.assert_allclose(mean, k_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(log_var, k_log_var, rtol=1e-4, atol=1e-5)
    assert mean.dtype == dtype
    (out,) = _runtime.DenseStack.from_keras(decoder)(mean)
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(decoder(k_mean)), atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_forward_equals_keras_far_outside_the_clip(dtype):
    # The hidden layers read their input clipped (skvae._config.HIDDEN_INPUT_LIMIT), the
    # linear path reads it whole: rows 100 standard deviations out must agree too, and
    # move the output linearly once past the clip.
    encoder, decoder = keras_models("selu")
    x = np.random.RandomState(9).normal(size=(20, 7)).astype(dtype) * 100
    mean, log_var = _runtime.DenseStack.from_keras(encoder)(x)
    k_mean, k_log_var = (keras.ops.convert_to_numpy(t) for t in encoder(x.astype(np.float32)))
    np.testing.assert_allclose(mean, k_mean, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(log_var, k_log_var, rtol=1e-4, atol=1e-3)
    decode = _runtime.DenseStack.from_keras(decoder).logits()
    z = np.full((3, 3), 50.0, dtype)
    z[1] *= 2
    z[2] *= 3
    (out,) = decode(z)
    np.testing.assert_allclose(out[2] - out[1], out[1] - out[0], atol=1e-5 * np.abs(out).max())


def test_a_far_row_leaves_the_other_rows_of_its_batch_bitwise_alone():
    # The clip is skipped for a batch whose values all lie inside it (the identity there);
    # a batch that holds one far row is clipped, and its other rows must not notice.
    encoder, _ = keras_models("selu")
    stack = _runtime.DenseStack.from_keras(encoder)
    x = np.random.RandomState(3).normal(size=(40, 7)).astype(np.float32)
    far = np.vstack([x, np.full((1, 7), 1e6, np.float32)])
    alone, with_far = stack(x), stack(far)
    for a, b in zip(alone, with_far):
        np.testing.assert_array_equal(a, b[:40])
    assert np.all(np.isfinite(with_far[0][40]))


def test_activation_table_covers_every_offered_activation():
    assert set(_config.ACTIVATIONS) <= set(_runtime.ACTIVATIONS)
    assert _config.LOG_VAR_RANGE == layers.LOG_VAR_RANGE


@pytest.mark.parametrize("block", [_config.ENCODER_BLOCK, _config.BLOCK])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_matmul_is_deterministic_and_within_rounding_of_any_batching(dtype, block):
    """Same rows, same batch: bitwise. Other batchings (a slice starting inside a block, the
    padded last block, one row alone, every position in a block, a permutation): within
    Higham's bound of each other, whatever kernel this CPU's BLAS picked."""
    rng = np.random.RandomState(0)
    x = rng.normal(size=(300, 97)).astype(dtype)
    w = rng.normal(size=(97, 45)).astype(dtype)
    full = _runtime.blocked_matmul(x, w, block=block)
    assert_bitwise_equal(_runtime.blocked_matmul(x, w, block=block), full)
    u = np.finfo(dtype).eps / 2
    gamma = 97 * u / (1 - 97 * u)
    bound = 2 * gamma * (np.abs(x) @ np.abs(w))
    exact = x.astype(np.float64) @ w.astype(np.float64)
    assert np.all(np.abs(full - exact) <= bound / 2)
    for start, stop in [(0, 1), (3, 5), (10, 74), (64, 128), (256, 300), (299, 300)]:
        part = _runtime.blocked_matmul(x[start:stop], w, block=block)
        assert_equal_up_to_rounding(part, full[start:stop], bound[start:stop])
    for position in range(block):  # row 0 at every position of a block
        rows = np.zeros((block, 97), dtype)
        rows[position] = x[0]
        row = _runtime.blocked_matmul(rows, w, block=block)[position]
        assert_equal_up_to_rounding(row, full[0], bound[0])
    perm = rng.permutation(300)
    assert_equal_up_to_rounding(
        _runtime.blocked_matmul(x[perm], w, block=block), full[perm], bound[perm]
    )


@pytest.mark.parametrize("activation", ["selu", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_pass_rounding_bound_holds_across_batchings(activation, dtype):
    encoder, decoder = keras_models(activation)
    enc = _runtime.DenseStack.from_keras(encoder)
    x = np.random.RandomState(3).normal(size=(200, 7)).astype(dtype)
    full = enc(x)
    bounds = rounding_bound(enc, x)
    for start, stop in [(10, 74), (150, 200), (199, 200)]:
        for out, ref, bound in zip(enc(x[start:stop]), full, bounds):
            assert_equal_up_to_rounding(out, ref[start:stop], bound[start:stop])


# ------------------------------------------------------------------ threads


def test_inference_threads_change_no_result_and_restore_blas_limits():
    # Large batches are split over threads (each with one BLAS thread) in whole blocks:
    # the results must be bitwise those of a serial pass, and the user's BLAS setting
    # must be back afterwards, also after concurrent calls.
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    encoder, decoder = keras_models("selu")
    enc = _runtime.DenseStack.from_keras(encoder)
    dec = _runtime.DenseStack.from_keras(decoder).logits()
    x = np.random.RandomState(7).uniform(size=(3 * _runtime.RowThreads.MIN_ROWS + 5, 7))
    eps = np.random.RandomState(8).normal(size=(16, 3))

    def run():
        scores = _scoring.importance_log_likelihood(
            x, enc, dec, "bernoulli", eps, max_elements=200 * 16 * 7
        )
        return [*enc(x), *dec(x[:, :3]), scores]

    with threadpool_limits(1):
        serial = run()
    with threadpool_limits(2):
        before = blas_threads()
        with _runtime.THREADS.single_blas() as n_threads:
            assert len(_runtime.THREADS.rows(len(x), n_threads)) == 2
        threaded = run()
        for a, b in zip(serial, threaded):
            assert_bitwise_equal(a, b)
        workers = [threading.Thread(target=run) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert blas_threads() == before


_FORKED = {}


def _threaded_forward_in_child():
    stack, x = _FORKED["stack"], _FORKED["x"]
    return stack(x)[0]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork() on this platform")
def test_threaded_inference_works_in_a_forked_child():
    # multiprocessing's "fork" start method copies the thread pool object but not its
    # threads; the child must not wait for ever on workers that do not exist.
    import multiprocessing

    from threadpoolctl import threadpool_limits

    encoder, _ = keras_models("selu")
    stack = _runtime.DenseStack.from_keras(encoder)
    x = np.random.RandomState(10).uniform(size=(3 * _runtime.RowThreads.MIN_ROWS, 7))
    with threadpool_limits(2):
        expected = stack(x)[0]  # the parent's pool now exists
        _FORKED.update(stack=stack, x=x)
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(_threaded_forward_in_child).get(timeout=120)
    assert_bitwise_equal(got, expected)
