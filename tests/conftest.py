"""Test configuration: one session-wide Hub simulator, started at import time.

``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` and friends when they are first imported,
so the simulator must be running and the environment set before any test module imports them.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Session fixtures `slurm`, `sshd` and `cluster`: a real Slurm and sshd on loopback, started on first use.
from tests.cluster.fixtures import cluster as cluster
from tests.cluster.fixtures import slurm as slurm
from tests.cluster.fixtures import sshd as sshd
from tests.ghsim import GitHubSim
from tests.hubsim import HubSim

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="hubsim-session-"))
SIM = HubSim(_SESSION_DIR / "hub").start()

for _var in (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_CACHE",
    "HF_DATASETS_CACHE",
):
    os.environ.pop(_var, None)
os.environ.update(
    {
        "HF_ENDPOINT": SIM.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "HF_HOME": str(_SESSION_DIR / "hf-home"),
    }
)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the simulator and remove its session directory."""
    SIM.stop()
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def github() -> Iterator[GitHubSim]:
    """A loopback GitHub API for the workflow's repository (incident issues)."""
    with GitHubSim() as sim:
        yield sim


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubSim]:
    """The session simulator, serving a fresh empty root for this test."""
    SIM.set_root(tmp_path / "hub")
    yield SIM
    SIM.wait_idle()  # a request delayed by a fault must not land in the next test's Hub


_BLOCKED: list[str] = []
_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        _BLOCKED.append(f"connect {address[0]}")
        raise ConnectionRefusedError(f"tests may only reach loopback, not {address[0]}")
    _connect(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host):
        _BLOCKED.append(f"resolve {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"tests may only reach loopback, not {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def only_loopback() -> Iterator[None]:
    """Fail any test during which something tried to reach beyond loopback, even if the error was swallowed."""
    _BLOCKED.clear()
    yield
    assert not _BLOCKED, f"attempted to leave loopback: {_BLOCKED}"


@pytest.fixture(autouse=True)
def run_in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test writes relative to the current folder (the state folder...) stays in its tmp_path."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def default_hub_http_client() -> Iterator[None]:
    """A HubClient makes huggingface_hub's shared HTTP client its own (timeout, rate limits): the next
    test starts from the library's default client again."""
    yield
    # Imported here: huggingface_hub reads HF_ENDPOINT at import, which must be set first (above).
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils._http import default_client_factory

    set_client_factory(default_client_factory)
