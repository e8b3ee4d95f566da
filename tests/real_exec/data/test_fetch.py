"""Fetching data sets, against a local HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import hashlib
import http.server
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import real_exec.executor.data.fetch as fetch_module
from real_exec.executor.data.datasets import find_files, load_dataset
from real_exec.executor.data.errors import DataError
from real_exec.executor.data.fetch import Remote, fetch
from tests.helpers import run_cli, write_cifar, write_mnist


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the test's folder; under /cut/ it announces the whole file and sends 100 bytes."""

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/cut/"):
            body = (Path(self.directory) / self.path[len("/cut/") :]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:100])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``(base URL, served folder)`` of a server on 127.0.0.1 for this test."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ASGD_DATA_DIR", str(folder))
    monkeypatch.delenv("ASGD_OFFLINE", raising=False)
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _serve_mnist(monkeypatch, base: str, served: Path, wrong: str | None = None) -> dict[str, str]:
    """Tiny MNIST files on the server, registered with their digests (``wrong``: that file's
    digest is not its own)."""
    write_mnist(served, gz=True)
    digests = {p.name: _sha256(p) for p in sorted(served.glob("*.gz"))}
    if wrong is not None:
        digests[wrong] = "0" * 64
    monkeypatch.setitem(fetch_module.REMOTE, "mnist", Remote(base, digests, "mnist"))
    return digests


def test_a_good_fetch_lands_in_the_cache_and_is_the_data_set_used(capsys, server, cache, monkeypatch) -> None:
    base, served = server
    digests = _serve_mnist(monkeypatch, base, served)
    code, out, err = run_cli(capsys, "data", "fetch", "mnist")
    assert code == 0, err
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(digests)
    assert all(_sha256(cache / "mnist" / f) == h for f, h in digests.items())
    data = load_dataset("mnist", np.random.default_rng(0))
    assert data.x_train.shape == (12, 784) and data.origin["dir"] == str(cache / "mnist")
    # Fetched again: nothing to do.
    code, out, _ = run_cli(capsys, "data", "fetch", "mnist")
    assert code == 0 and "already in" in out


def test_first_use_fetches_the_data_set_of_a_run(capsys, server, cache, monkeypatch) -> None:
    base, served = server
    _serve_mnist(monkeypatch, base, served)
    code, _, err = run_cli(
        capsys, "run", "--algo", "hogwild", "--threads", "1", "--model", "logreg", "--dataset", "mnist",
        "--gradients", "50", "--batch", "4", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "mnist" in err  # the progress line of the download
    assert (cache / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_a_digest_mismatch_is_refused_and_leaves_no_file(capsys, server, cache, monkeypatch) -> None:
    base, served = server
    _serve_mnist(monkeypatch, base, served, wrong="t10k-images-idx3-ubyte.gz")
    code, _, err = run_cli(capsys, "data", "fetch", "mnist")
    lines = err.strip().splitlines()
    assert code == 2 and "t10k-images-idx3-ubyte.gz" in lines[-1] and "not the official file" in lines[-1]
    assert not (cache / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    with pytest.raises(DataError, match="mnist not found"):
        find_files("mnist", fetch_missing=False)


def test_a_dead_server_is_one_line_and_exit_2(capsys, cache, monkeypatch) -> None:
    # A port nobody listens on: bind one, note it, close it.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(
        fetch_module.REMOTE, "mnist", Remote(f"http://127.0.0.1:{port}/", {"a.gz": "0" * 64}, "mnist")
    )
    code, out, err = run_cli(capsys, "data", "fetch", "mnist")
    error = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(error) == 1 and "cannot fetch" in error[0]


def test_an_interrupted_download_leaves_no_partial_data_set(server, cache, monkeypatch) -> None:
    base, served = server
    digests = _serve_mnist(monkeypatch, base + "cut/", served)
    with pytest.raises(DataError, match="cannot fetch"):
        fetch("mnist", progress=False)
    folder = cache / "mnist"
    assert not folder.exists() or list(folder.iterdir()) == []  # no partial or temporary file
    # The same files from a working server: fetched whole, and each one is the official file.
    monkeypatch.setitem(fetch_module.REMOTE, "mnist", Remote(base, digests, "mnist"))
    fetch("mnist", progress=False)
    assert all(_sha256(folder / f) == h for f, h in digests.items())


def test_cifar10s_archive_is_unpacked_where_the_loader_looks(server, cache, monkeypatch) -> None:
    base, served = server
    batches = write_cifar(served / "src" / "cifar-10-batches-bin")
    archive = served / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-bin")
    remote = Remote(base, {archive.name: _sha256(archive)}, "cifar-10", archive=True)
    monkeypatch.setitem(fetch_module.REMOTE, "cifar10", remote)
    data = load_dataset("cifar10", np.random.default_rng(0))  # fetched on first use
    assert data.x_train.shape == (20, 3072) and "cifar-10-batches-bin" in data.origin["dir"]


def test_offline_never_fetches(capsys, server, cache, monkeypatch) -> None:
    base, served = server
    _serve_mnist(monkeypatch, base, served)
    code, _, err = run_cli(capsys, "--offline", "data", "fetch", "mnist")
    assert code == 2 and "fetching is off" in err
    monkeypatch.setenv("ASGD_OFFLINE", "1")
    with pytest.raises(DataError, match=r"mnist not found: looked in .*cache/mnist; fetching is off"):
        find_files("mnist")
    assert not (cache / "mnist").exists()
