"""skvae-demo (skvae.demo.main): runs end to end and writes its four pictures."""

import re
import subprocess
import sys

import pytest

from skvae.demo import main

pytest.importorskip("matplotlib", reason="the demo draws pictures with matplotlib")

PICTURES = ("latent_space.png", "reconstructions.png", "samples.png", "loss_curve.png")


def check_pictures(folder):
    for name in PICTURES:
        path = folder / name
        assert path.is_file(), f"{name} not written"
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
def test_quick_digits_demo_prints_results_and_writes_pictures(tmp_path, capsys):
    main(["--dataset", "digits", "--quick", "--output", str(tmp_path), "--random-state", "1"])
    out = capsys.readouterr().out
    check_pictures(tmp_path)
    assert "VAE + LogisticRegression: test accuracy" in out
    assert "PCA + LogisticRegression: test accuracy" in out
    assert "n_components   mean log-likelihood (nats/image)" in out
    assert "<- best" in out
    assert "best n_components:" in out
    for name in PICTURES:
        assert str(tmp_path / name) in out
    # every step is announced with the seconds elapsed since the start
    steps = re.findall(r"^\[ *\d+\.\ds\] (.*)$", out, flags=re.MULTILINE)
    assert [step[:3] for step in steps] == ["loa", "(a)", "(a)", "(b)", "(c)", "don"]


def test_auto_falls_back_to_digits_without_fashion_mnist(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SKVAE_FASHION_MNIST", str(tmp_path / "no-fashion-here"))
    main(["--quick", "--output", str(tmp_path / "pictures")])
    out = capsys.readouterr().out
    assert "Fashion-MNIST not found" in out
    assert "using sklearn's digits instead" in out
    assert "digits: " in out
    check_pictures(tmp_path / "pictures")


def test_explicit_fashion_mnist_without_files_exits_with_the_install_hint(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SKVAE_FASHION_MNIST", str(tmp_path))
    with pytest.raises(SystemExit) as info:
        main(["--dataset", "fashion-mnist", "--output", str(tmp_path / "pictures")])
    assert info.value.code == 1
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    assert not (tmp_path / "pictures").exists()


def test_missing_matplotlib_stops_before_any_fit(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as info:
        main(["--dataset", "digits", "--quick", "--output", str(tmp_path)])
    assert info.value.code == 2
    assert 'pip install "skvae[plot]"' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_bad_option_is_rejected(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--dataset", "mnist"])
    assert info.value.code == 2
    assert "invalid choice: 'mnist'" in capsys.readouterr().err


def test_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "skvae.demo", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: skvae-demo" in result.stdout
    for option in ("--output", "--dataset", "--quick", "--random-state"):
        assert option in result.stdout
