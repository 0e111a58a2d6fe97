"""Fit speed: hand-written Keras and PyTorch VAEs against VAETransformer, same run.

The baseline is the recipe users write today for Fashion-MNIST: 784 -> Dense(150, selu) ->
Dense(100, selu) -> two Dense(10) heads -> Sampling -> Dense(100, selu) -> Dense(150, selu) ->
Dense(784, sigmoid); loss = Keras' per-pixel binary cross-entropy + mean latent loss / 784
(added with add_loss by a small layer, as Keras 3 requires); RMSprop(1e-3), batch 128,
model.fit on the first 55,000 training images, validating on the last 5,000.
VAETransformer gets the same architecture, likelihood, optimizer, learning rate, batch size,
epochs and rows (early_stopping=False: it trains on the same 55,000 rows).

The PyTorch peer is the plain training loop a PyTorch user writes for the same VAE: the same
layers (two Linear(10) heads, selu, Glorot-uniform weights and zero biases as Keras' Dense),
a logit output with binary_cross_entropy_with_logits (per-pixel mean) + mean KL / 784, the same
log-variance clip, torch.optim.RMSprop(lr=1e-3, alpha=0.9, eps=1e-7) (Keras' rho and epsilon;
torch adds epsilon after the square root, Keras inside it), batch 128 taken by index from one
float32 tensor, reshuffled each epoch, torch.set_num_threads(os.cpu_count()). It validates
only after training, so its epochs are timed like VAETransformer's (Keras' include the
5,000-row validation pass). torch is optional: without it the row is skipped
(pip install torch==2.13.0).

Each row reports the first epoch (tracing / graph build / warm-up) apart from the steady median
of the later ones; fit s runs from building the model (VAETransformer builds its own
in ``fit``) to the end of training, start-up included.

``--short``: the fixed costs of a short fit: 3 epochs, 5 runs of each model alternating (the
baseline's own speed varies from run to run), written to ``results/fit_short.md``.
``--quick``: 3 epochs, one run each. ``--repeats`` sets the runs.

Usage: python benchmarks/bench_fit.py [--short | --quick] [--epochs 25] [--repeats 1]
"""

import argparse
import contextlib
import io
import os
import time
import warnings

import numpy as np

from _common import as_markdown, echoed, epoch_seconds, fashion_mnist, header, table, write_results


def baseline_model(keras):
    from skvae.layers import Sampling
    from skvae.losses import latent_loss

    class LatentLoss(keras.layers.Layer):
        def call(self, inputs):
            mean, log_var = inputs
            self.add_loss(keras.ops.mean(latent_loss(mean, log_var)) / 784.0)
            return inputs

    L = keras.layers
    inputs = keras.Input((28, 28))
    h = L.Flatten()(inputs)
    h = L.Dense(150, activation="selu")(h)
    h = L.Dense(100, activation="selu")(h)
    mean, log_var = L.Dense(10)(h), L.Dense(10)(h)
    encoder = keras.Model(inputs, [mean, log_var])
    z_in = keras.Input((10,))
    h = L.Dense(100, activation="selu")(z_in)
    h = L.Dense(150, activation="selu")(h)
    h = L.Dense(784, activation="sigmoid")(h)
    decoder = keras.Model(z_in, L.Reshape((28, 28))(h))
    mean, log_var = LatentLoss()(encoder(inputs))
    z = Sampling()([mean, log_var])
    vae = keras.Model(inputs, decoder(z))
    vae.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(1e-3))
    return vae, encoder, decoder


class EpochTimes:
    def __init__(self, keras):
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs: self.start(), on_epoch_end=lambda e, logs: self.end()
        )
        self.times = []

    def start(self):
        self._t = time.perf_counter()

    def end(self):
        self.times.append(time.perf_counter() - self._t)


def torch_fit(X_train, X_valid, epochs, batch_size=128, seed=0):
    """The PyTorch loop; (fit seconds, per-epoch seconds, valid MSE at z=mu), None without torch.

    Fit seconds run from the tensor conversion and model build to the end of the last epoch.
    """
    try:
        import torch
    except ImportError:
        return None
    from torch import nn
    from torch.nn import functional as F

    from skvae.layers import LOG_VAR_RANGE

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(seed)
    start = time.perf_counter()

    def dense(n_in, n_out):  # Keras Dense's initialisation: Glorot uniform, zero bias
        layer = nn.Linear(n_in, n_out)
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
        return layer

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(dense(784, 150), nn.SELU(), dense(150, 100), nn.SELU())
            self.mean, self.log_var = dense(100, 10), dense(100, 10)
            self.decoder = nn.Sequential(dense(10, 100), nn.SELU(), dense(100, 150), nn.SELU(),
                                         dense(150, 784))  # logits

        def encode(self, x):
            h = self.encoder(x)
            return self.mean(h), self.log_var(h).clamp(*LOG_VAR_RANGE)

        def forward(self, x):
            mean, log_var = self.encode(x)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            return self.decoder(z), mean, log_var

    X = torch.from_numpy(np.ascontiguousarray(X_train, dtype=np.float32))
    model = VAE()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    n = X.shape[0]
    times = []
    for _ in range(epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(n)
        for i in range(0, n, batch_size):
            xb = X[order[i:i + batch_size]]
            logits, mean, log_var = model(xb)
            kl = -0.5 * torch.sum(1.0 + log_var - log_var.exp() - mean.square(), dim=1)
            loss = F.binary_cross_entropy_with_logits(logits, xb) + kl.mean() / 784.0
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - epoch_start)
    total = time.perf_counter() - start
    with torch.no_grad():
        mean, _ = model.encode(torch.from_numpy(np.ascontiguousarray(X_valid, dtype=np.float32)))
        recon = torch.sigmoid(model.decoder(mean)).numpy()
    return total, times, float(np.mean((recon - X_valid) ** 2))


def flops_per_epoch(n_rows, sizes):
    """Multiply-adds x 2 of the dense layers, x 3 for forward + backward."""
    forward = 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3 * forward * n_rows


def keras_fit(keras, X_train, X_valid, epochs):
    """The hand-written Keras VAE, built and fitted afresh; (fit s, per-epoch s, valid MSE)."""
    start = time.perf_counter()
    vae, encoder, decoder = baseline_model(keras)
    timer = EpochTimes(keras)
    vae.fit(X_train.reshape(-1, 28, 28), X_train.reshape(-1, 28, 28), epochs=epochs,
            batch_size=128, validation_data=(X_valid.reshape(-1, 28, 28),) * 2, verbose=0,
            callbacks=[timer.callback])
    total = time.perf_counter() - start
    mean, _ = encoder.predict(X_valid.reshape(-1, 28, 28), verbose=0)
    mse = float(np.mean((decoder.predict(mean, verbose=0).reshape(-1, 784) - X_valid) ** 2))
    return total, timer.times, mse, vae.jit_compile


def skvae_fit(X_train, X_valid, epochs):
    """VAETransformer with the baseline's settings; (fit s, per-epoch s, valid MSE)."""
    from skvae import VAETransformer

    est = VAETransformer(10, hidden_layer_sizes=(150, 100), activation="selu",
                         likelihood="bernoulli", optimizer="rmsprop", learning_rate=1e-3,
                         batch_size=128, max_iter=epochs, early_stopping=False,
                         verbose=1, random_state=0)
    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the epochs are a fixed budget
        est.fit(X_train)
    total = time.perf_counter() - start
    times = epoch_seconds(log.getvalue())  # the "Epoch i/N - 0.88s - loss: ..." lines
    if len(times) != epochs:
        raise RuntimeError(f"found {len(times)} epoch lines in the verbose output, expected "
                           f"{epochs}:\n{log.getvalue()}")
    mse = float(np.mean((est.inverse_transform(est.transform(X_valid)) - X_valid) ** 2))
    return total, times, mse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of each fit (default 25; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 epochs")
    parser.add_argument("--short", action="store_true",
                        help="3 epochs, 5 runs alternating, to results/fit_short.md")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of each model, alternating (default 1; 5 with --short)")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 3 if args.quick or args.short else 25
    if args.repeats is None:
        args.repeats = 5 if args.short else 1
    title = f"Fit speed on Fashion-MNIST, 55,000 x 784, {args.epochs} epochs"
    header(title)
    from skvae._tf import import_keras

    keras = import_keras()
    X, _, _, _ = fashion_mnist()
    X_train, X_valid = X[:55000], X[55000:]

    names = ["Keras baseline (model.fit)", "VAETransformer", "PyTorch loop"]
    runs = {name: [] for name in names}
    for repeat in range(args.repeats):  # alternating: the machine's drift hits all alike
        total, times, mse, jit = keras_fit(keras, X_train, X_valid, args.epochs)
        if repeat == 0:
            print(f"baseline: Keras resolved compile(jit_compile='auto') to {jit!r}")
        runs[names[0]].append((total, times, mse))
        runs[names[1]].append(skvae_fit(X_train, X_valid, args.epochs))
        torch_result = torch_fit(X_train, X_valid, args.epochs)
        if torch_result is not None:
            runs[names[2]].append(torch_result)
        print(f"run {repeat + 1}: " + ", ".join(
            f"{name} {results[-1][0]:.2f}s" for name, results in runs.items() if results),
            flush=True)

    gflop = flops_per_epoch(55000, [784, 150, 100, 20]) / 1e9 + flops_per_epoch(
        55000, [10, 100, 150, 784]) / 1e9
    rows = []
    for name, results in runs.items():
        if not results:
            continue
        steady = float(np.median([np.median(times[1:] or times) for _, times, _ in results]))
        total = float(np.median([r[0] for r in results]))
        rows.append({
            "model": name,
            "runs": len(results),
            "fit s": total,
            "s/epoch (fit/epochs)": total / args.epochs,
            "first epoch s": float(np.median([times[0] for _, times, _ in results])),
            "s/epoch (median, steady)": steady,
            "GFLOP/s": gflop / steady,
            "valid MSE at z=mu": float(np.median([r[2] for r in results])),
        })
    body = table(rows, list(rows[0]))
    ours = runs[names[1]]
    peers = [("baseline", rows[0], runs[names[0]])] + [
        ("PyTorch", row, runs[names[2]]) for row in rows[2:]]
    with echoed() as notes:
        if args.repeats > 1:
            print(f"{args.repeats} runs of each model, alternating; each figure is the median "
                  "over the runs. Every run builds its model afresh; VAETransformer's later runs "
                  "reuse the compiled training step of the first (as any later fit in a "
                  "process does), the Keras baseline compiles each new model again")
        for peer, row, theirs in peers:
            print(f"ratio VAETransformer / {peer}, s/epoch incl. start-up: "
                  f"{rows[1]['s/epoch (fit/epochs)'] / row['s/epoch (fit/epochs)']:.3f}")
            print(f"ratio VAETransformer / {peer}, steady s/epoch:        "
                  f"{rows[1]['s/epoch (median, steady)'] / row['s/epoch (median, steady)']:.3f}")
            if args.repeats > 1:
                print(f"ratio VAETransformer / {peer}, first run of each (a process's first "
                      f"fit): {ours[0][0] / theirs[0][0]:.3f}")
        if not runs[names[2]]:
            print("PyTorch row skipped: torch is not installed (pip install torch==2.13.0)")
        print(f"work per epoch: {gflop:.1f} GFLOP (dense layers, forward + backward)")
    write_results("fit_short" if args.short else "fit",
                  [(title, body + "\n\n" + as_markdown(notes.getvalue()))], args.quick,
                  script="fit")


if __name__ == "__main__":
    main()
