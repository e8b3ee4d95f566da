"""The standard data sets fetched from their official sources, verified by SHA-256, into a cache.

=================  ==============================================================  ================
name               files (official source)                                          unpacked to
=================  ==============================================================  ================
``fashion-mnist``  four IDX ``.gz`` files (Zalando Research's repository)            ``fashion-mnist/``
``mnist``          four IDX ``.gz`` files (the mirror torchvision fetches from)       ``mnist/``
``cifar10``        ``cifar-10-binary.tar.gz`` (Alex Krizhevsky's page, U. Toronto)    ``cifar-10/``
=================  ==============================================================  ================

The cache is ``$ASGD_DATA_DIR`` when set, else the platform's user cache directory
(``pooch.os_cache("asgd")``: ``~/.cache/asgd`` on Linux). Fetching is pooch's (the library
scipy.datasets and scikit-image fetch with): each file is downloaded to a temporary name and
moved into place only after its digest matched, so an interrupted or corrupt download never
becomes part of a data set; a rerun fetches only the files still missing. ``ASGD_OFFLINE=1``
(``asgd --offline``) never fetches.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from real_exec.executor.data.errors import DataError

__all__ = ["REMOTE", "Remote", "cache_dir", "fetch", "offline"]


@dataclass(frozen=True)
class Remote:
    """Where a data set's files are published: ``base_url`` + file name, each with its SHA-256;
    ``folder``: its sub-folder of the cache; ``archive``: a ``.tar.gz`` unpacked there."""

    base_url: str
    sha256: dict[str, str]
    folder: str
    archive: bool = False


#: Data set -> its official files and their SHA-256 digests.
REMOTE: dict[str, Remote] = {
    "fashion-mnist": Remote(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        "fashion-mnist",
    ),
    "mnist": Remote(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "mnist",
    ),
    "cifar10": Remote(
        "https://www.cs.toronto.edu/~kriz/",
        {"cifar-10-binary.tar.gz": "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"},
        "cifar-10",
        archive=True,
    ),
}


def cache_dir() -> Path:
    """Where fetched data sets are kept: ``$ASGD_DATA_DIR``, else the user cache directory."""
    env = os.environ.get("ASGD_DATA_DIR")
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("asgd"))


def offline() -> bool:
    """Whether fetching is off (``ASGD_OFFLINE`` set to 1, true or yes)."""
    return os.environ.get("ASGD_OFFLINE", "").strip().lower() in ("1", "true", "yes")


class _Progress:
    """pooch's progress-bar protocol, as one line on stderr rewritten in place."""

    def __init__(self, label: str) -> None:
        self.label, self.total, self.n = label, 0, 0

    def update(self, step: int) -> None:
        self.n += step
        if self.total:
            sys.stderr.write(f"\r{self.label}: {self.n / 2**20:.1f} of {self.total / 2**20:.1f} MiB")
            sys.stderr.flush()

    def reset(self) -> None:
        self.n = 0

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def fetch(name: str, base_url: str | None = None, progress: bool = True) -> Path:
    """Fetch data set ``name`` (a key of :data:`REMOTE`) into the cache unless it is there;
    return its folder. ``base_url`` replaces the official one (a mirror, or a test server).
    :class:`DataError` in one line if a file cannot be fetched or its digest does not match
    (nothing of it is then left in the cache)."""
    import pooch

    if name not in REMOTE:
        raise ValueError(f"{name!r} cannot be fetched (fetched data sets: {', '.join(REMOTE)})")
    remote = REMOTE[name]
    folder = cache_dir() / remote.folder
    pooch.get_logger().setLevel("WARNING")  # our own progress line says what is fetched
    store = pooch.create(
        path=folder,
        base_url=base_url or remote.base_url,
        registry={f: f"sha256:{h}" for f, h in remote.sha256.items()},
        retry_if_failed=1,
    )
    for file in remote.sha256:
        downloader = pooch.HTTPDownloader(progressbar=_Progress(f"{name} {file}") if progress else False)
        processor: Any = pooch.Untar(extract_dir=".") if remote.archive else None
        try:
            store.fetch(file, downloader=downloader, processor=processor)
        except ValueError as exc:  # pooch: the digest did not match (the download is deleted)
            raise DataError(
                f"{name}: {file} from {store.get_url(file)} is not the official file: {exc}"
            ) from None
        except OSError as exc:  # no network, a dead server, an HTTP error (requests' are OSErrors)
            raise DataError(
                f"{name}: cannot fetch {store.get_url(file)} ({type(exc).__name__}: {exc})"
            ) from None
    return folder
