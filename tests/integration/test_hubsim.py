"""The Hub simulator, driven by the real ``huggingface_hub`` / ``datasets`` clients."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import huggingface_hub.utils._http as hf_http
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    hf_hub_download,
)
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from tests.hubsim import Fault, HubSim

REPO_ROOT = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CARD = """---
license: mit
dataset_info:
  features:
  - name: id
    dtype: int64
  splits:
  - name: train
    num_bytes: 1000
    num_examples: {rows}
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# Input dataset

progress: {rows}
"""


def parquet_bytes(rows: int, start: int = 0) -> bytes:
    """A real parquet file with ``rows`` rows."""
    table = pa.table({"id": list(range(start, start + rows)), "text": [f"row {i}" for i in range(rows)]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def hub_datetime(mtime_ns: int) -> datetime:
    """What the client should parse from the simulator's date for a file with this mtime (ms precision)."""
    return EPOCH + timedelta(milliseconds=mtime_ns // 1_000_000)


def tree_requests(hub: HubSim) -> list[Any]:
    return [r for r in hub.requests if "/tree/" in r.path]


@pytest.fixture
def api() -> HfApi:
    return HfApi()


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the client's retry back-off instant; returns the sleeps it asked for."""
    sleeps: list[float] = []
    monkeypatch.setattr(hf_http.time, "sleep", sleeps.append)
    return sleeps


# -- listings ---------------------------------------------------------------------------------------


def test_list_repo_tree_recursive_paginates_with_directories(hub: HubSim, api: HfApi) -> None:
    repo = hub.create_repo("org/big")
    for i in range(1005):
        sub = "a" if i < 600 else "b/deep"
        hub.put_file("org/big", f"data/{sub}/f-{i:04d}.txt", f"file {i}")
    hub.put_file("org/big", "README.md", "# big\n")
    hub.clear_requests()

    entries = list(api.list_repo_tree("org/big", repo_type="dataset", recursive=True))

    dirs = sorted(e.path for e in entries if isinstance(e, RepoFolder))
    files = [e for e in entries if isinstance(e, RepoFile)]
    assert dirs == ["data", "data/a", "data/b", "data/b/deep"]
    assert len(files) == 1006
    assert len(entries) == 1010
    assert len(tree_requests(hub)) == 2  # 1000 + 10 entries
    first_file = next(i for i, e in enumerate(entries) if isinstance(e, RepoFile))
    assert all(isinstance(e, RepoFolder) for e in entries[:first_file])  # directories first
    readme = next(f for f in files if f.path == "README.md")
    assert readme.size == len("# big\n")
    assert readme.blob_id == _git_oid(b"# big\n")
    assert readme.lfs is None
    assert (repo / "data").is_dir()


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_list_repo_tree_expand_paginates_and_dates_are_mtimes(hub: HubSim, api: HfApi) -> None:
    base = 1_700_000_000.0
    for i in range(60):
        hub.put_file("org/exp", f"data/f-{i:02d}.txt", f"x{i}", mtime=base + i * 3600 + 0.123)
    hub.put_file("org/exp", "shard.parquet", parquet_bytes(3), mtime=base)
    hub.clear_requests()

    entries = list(api.list_repo_tree("org/exp", repo_type="dataset", recursive=True, expand=True))

    assert len(entries) == 62  # 1 directory + 61 files
    assert len(tree_requests(hub)) == 2  # 50 per page with expand
    root = hub.repo_dir("org/exp")
    for entry in entries:
        assert entry.last_commit is not None
        if isinstance(entry, RepoFile):
            mtime_ns = (root / entry.path).stat().st_mtime_ns
            assert entry.last_commit.date == hub_datetime(mtime_ns)
            assert entry.last_commit.title == f"Upload {entry.path}"
    folder = next(e for e in entries if isinstance(e, RepoFolder))
    assert folder.last_commit.date == hub_datetime((root / "data/f-59.txt").stat().st_mtime_ns)
    shard = next(e for e in entries if e.path == "shard.parquet")
    assert isinstance(shard, RepoFile) and shard.lfs is not None
    content = (root / "shard.parquet").read_bytes()
    assert shard.lfs.sha256 == hashlib.sha256(content).hexdigest()
    assert shard.lfs.size == shard.size == len(content)
    assert shard.blob_id != _git_oid(content)  # the oid of the LFS pointer, like the Hub


def test_tree_of_subfolder_file_and_missing_paths(hub: HubSim, api: HfApi) -> None:
    hub.put_file("org/ds", "data/sub/x.txt", "x")
    hub.put_file("org/ds", "data/y.txt", "y")
    listed = list(api.list_repo_tree("org/ds", "data/sub", repo_type="dataset"))
    assert [e.path for e in listed] == ["data/sub/x.txt"]
    assert hub.requests[-1].path == "/api/datasets/org/ds/tree/main/data%2Fsub"
    top = list(api.list_repo_tree("org/ds", "data", repo_type="dataset"))
    assert [(type(e).__name__, e.path) for e in top] == [
        ("RepoFolder", "data/sub"),
        ("RepoFile", "data/y.txt"),
    ]
    with pytest.raises(RemoteEntryNotFoundError):
        list(api.list_repo_tree("org/ds", "data/y.txt", repo_type="dataset"))
    with pytest.raises(RemoteEntryNotFoundError):
        list(api.list_repo_tree("org/ds", "nope", repo_type="dataset"))
    with pytest.raises(RevisionNotFoundError):
        list(api.list_repo_tree("org/ds", repo_type="dataset", revision="dev"))
    hub.create_repo("org/empty")
    assert list(api.list_repo_tree("org/empty", repo_type="dataset", recursive=True)) == []


def test_get_paths_info(hub: HubSim, api: HfApi) -> None:
    hub.put_file("org/ds", "README.md", "# hi\n", mtime=1_600_000_000.5)
    hub.put_file("org/ds", "data/x.parquet", parquet_bytes(2))
    hub.clear_requests()

    infos = api.get_paths_info(
        "org/ds", ["README.md", "data", "missing.txt"], repo_type="dataset", expand=True
    )

    assert [(type(i).__name__, i.path) for i in infos] == [("RepoFile", "README.md"), ("RepoFolder", "data")]
    assert infos[0].last_commit.date == datetime(2020, 9, 13, 12, 26, 40, 500000, tzinfo=timezone.utc)
    assert [(r.method, r.path) for r in hub.requests] == [("POST", "/api/datasets/org/ds/paths-info/main")]


def test_dataset_info_sha_changes_after_hand_edit_and_card_data(hub: HubSim, api: HfApi) -> None:
    hub.put_file("org/input", "README.md", CARD.format(rows=123))
    hub.put_file("org/input", "data/train-00000.parquet", parquet_bytes(5))

    info = api.dataset_info("org/input", files_metadata=True)
    assert info.id == "org/input"
    assert info.sha is not None and len(info.sha) == 40
    assert info.card_data["dataset_info"]["splits"][0]["num_examples"] == 123
    assert {s.rfilename for s in info.siblings} == {"README.md", "data/train-00000.parquet"}
    shard = next(s for s in info.siblings if s.rfilename.endswith(".parquet"))
    assert shard.lfs is not None and shard.lfs.size == shard.size
    assert info.last_modified is not None and info.last_modified.tzinfo is not None

    assert api.dataset_info("org/input").sha == info.sha  # stable while nothing changes
    hub.put_file("org/input", "README.md", CARD.format(rows=456))  # hand edit, same size
    edited = api.dataset_info("org/input")
    assert edited.sha != info.sha
    assert edited.card_data["dataset_info"]["splits"][0]["num_examples"] == 456
    # the old sha is still a valid revision, with the old card
    old = api.dataset_info("org/input", revision=info.sha)
    assert old.sha == info.sha
    assert old.card_data["dataset_info"]["splits"][0]["num_examples"] == 123
    assert hub.requests[-1].path == f"/api/datasets/org/input/revision/{info.sha}"


# -- reads --------------------------------------------------------------------------------------------


def test_hffs_glob_and_parquet_footer_reads(hub: HubSim) -> None:
    for i, rows in enumerate((7, 11)):
        hub.put_file("org/out", f"data/shard-{i:05d}.parquet", parquet_bytes(rows))
    hub.put_file("org/out", "README.md", "# out\n")
    hub.clear_requests()
    fs = HfFileSystem(skip_instance_cache=True)

    paths = fs.glob("datasets/org/out/data/*.parquet")

    assert paths == ["datasets/org/out/data/shard-00000.parquet", "datasets/org/out/data/shard-00001.parquet"]
    assert [(r.method, r.path, r.query) for r in hub.requests] == [
        ("GET", "/api/datasets/org/out", ""),
        ("GET", "/api/datasets/org/out/tree/main/data", "recursive=false&expand=false"),
        ("GET", "/api/datasets/org/out/tree/main", "recursive=false&expand=false"),
    ]
    hub.clear_requests()
    rows = []
    for path in paths:
        with fs.open(path, "rb") as f:
            rows.append(pq.ParquetFile(f).metadata.num_rows)
    assert rows == [7, 11]
    assert [(r.method, r.status) for r in hub.requests] == [("GET", 206), ("GET", 206)]


def test_hffs_at_pinned_sha_sees_that_snapshot(hub: HubSim) -> None:
    hub.put_file("org/out", "data/shard-00000.parquet", parquet_bytes(3))
    sha = hub.head_sha("org/out")
    hub.put_file("org/out", "data/shard-00001.parquet", parquet_bytes(4))
    fs = HfFileSystem(skip_instance_cache=True)
    assert fs.glob(f"datasets/org/out@{sha}/data/*.parquet") == [
        f"datasets/org/out@{sha}/data/shard-00000.parquet"
    ]
    with fs.open(f"datasets/org/out@{sha}/data/shard-00000.parquet", "rb") as f:
        assert pq.ParquetFile(f).metadata.num_rows == 3
    assert len(fs.glob("datasets/org/out/data/*.parquet")) == 2


def _raw_get(
    hub: HubSim, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = hub.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_range_reads_over_raw_http(hub: HubSim) -> None:
    content = parquet_bytes(50)
    size = len(content)
    hub.put_file("org/out", "data/shard.parquet", content)
    url = "/datasets/org/out/resolve/main/data/shard.parquet"

    status, headers, body = _raw_get(hub, url, {"Range": "bytes=-16"})
    assert (status, body) == (206, content[-16:])
    assert headers["content-range"] == f"bytes {size - 16}-{size - 1}/{size}"
    assert headers["content-length"] == "16"
    assert headers["accept-ranges"] == "bytes"
    assert body.endswith(b"PAR1")
    assert len(headers["x-repo-commit"]) == 40
    assert headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert not any(k.startswith("x-xet") for k in headers)

    status, headers, body = _raw_get(hub, url, {"Range": f"bytes=-{size + 1000}"})
    assert (status, body, headers["content-range"]) == (206, content, f"bytes 0-{size - 1}/{size}")
    status, headers, body = _raw_get(hub, url, {"Range": "bytes=4-9"})
    assert (status, body, headers["content-range"]) == (206, content[4:10], f"bytes 4-9/{size}")
    status, headers, body = _raw_get(hub, url, {"Range": "bytes=10-"})
    assert (status, body) == (206, content[10:])
    status, headers, body = _raw_get(hub, url, {"Range": f"bytes={size}-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{size}")
    status, headers, body = _raw_get(hub, url)
    assert (status, body) == (200, content)

    # the same through the client's own retrying session, as the project reads footers
    resp = hf_http.http_backoff("GET", hub.url + url, headers={"Range": "bytes=-8"})
    assert resp.status_code == 206 and resp.content == content[-8:]


def test_hf_hub_download_readme_cold_then_changed(hub: HubSim, tmp_path: Path) -> None:
    cache = tmp_path / "hf-cache"
    hub.put_file("org/out", "README.md", "version one\n")
    hub.clear_requests()

    first = hf_hub_download("org/out", "README.md", repo_type="dataset", cache_dir=cache)
    assert Path(first).read_text() == "version one\n"
    assert [r.method for r in hub.requests] == ["HEAD", "GET"]

    hub.clear_requests()
    again = hf_hub_download("org/out", "README.md", repo_type="dataset", cache_dir=cache)
    assert Path(again).read_text() == "version one\n"
    assert [r.method for r in hub.requests] == ["HEAD"]

    hub.put_file("org/out", "README.md", "version two\n")
    hub.clear_requests()
    changed = hf_hub_download("org/out", "README.md", repo_type="dataset", cache_dir=cache)
    assert Path(changed).read_text() == "version two\n"
    assert [r.method for r in hub.requests] == ["HEAD", "GET"]


def test_historic_revisions(hub: HubSim, api: HfApi, tmp_path: Path) -> None:
    big_v1 = os.urandom(1_100_000)
    hub.put_file("org/h", "README.md", "old card\n")
    hub.put_file("org/h", "big.bin", big_v1)
    hub.put_file("org/h", "data/a.parquet", parquet_bytes(2))
    old = hub.head_sha("org/h")
    hub.put_file("org/h", "README.md", "new card, longer\n")
    hub.put_file("org/h", "big.bin", os.urandom(1_100_000))

    status, headers, body = _raw_get(hub, f"/datasets/org/h/resolve/{old}/README.md")
    assert (status, body, headers["x-repo-commit"]) == (200, b"old card\n", old)
    status, _, body = _raw_get(hub, f"/datasets/org/h/resolve/{old}/data/a.parquet")  # unchanged on disk
    assert status == 200 and body == parquet_bytes(2)
    status, headers, _ = _raw_get(hub, f"/datasets/org/h/resolve/{old}/big.bin")  # big and changed
    assert (status, headers["x-error-code"]) == (404, "EntryNotFound")
    status, headers, _ = _raw_get(hub, "/datasets/org/h/resolve/" + "0" * 40 + "/README.md")
    assert (status, headers["x-error-code"]) == (404, "RevisionNotFound")
    path = hf_hub_download("org/h", "README.md", repo_type="dataset", revision=old, cache_dir=tmp_path / "c")
    assert Path(path).read_text() == "old card\n"
    assert {e.path for e in api.list_repo_tree("org/h", repo_type="dataset", revision=old)} == {
        "README.md",
        "big.bin",
        "data",
    }


# -- writes -------------------------------------------------------------------------------------------


def test_upload_file_readme_then_unchanged_makes_no_commit(hub: HubSim, api: HfApi) -> None:
    hub.put_file("org/out", "README.md", "---\nlicense: mit\n---\nold\n")
    hub.put_file("org/out", "data/shard-0.parquet", parquet_bytes(1))
    head_before = hub.head_sha("org/out")
    card = b"---\nlicense: mit\nprogress: 50\n---\n# Progress\n"
    hub.clear_requests()

    before = time.time()
    info = api.upload_file(
        path_or_fileobj=card, path_in_repo="README.md", repo_id="org/out", repo_type="dataset"
    )

    assert [(r.method, r.path) for r in hub.requests] == [
        ("POST", "/api/validate-yaml"),
        ("POST", "/api/datasets/org/out/preupload/main"),
        ("POST", "/api/datasets/org/out/commit/main"),
    ]
    commits = hub.commits("org/out")
    assert len(commits) == 1
    assert commits[0].files == {"README.md": card}
    assert commits[0].parent == head_before
    assert commits[0].sha == info.oid == hub.head_sha("org/out")
    assert info.commit_url == f"{hub.url}/datasets/org/out/commit/{info.oid}"
    readme = hub.repo_dir("org/out") / "README.md"
    assert readme.read_bytes() == card
    assert before - 1 <= readme.stat().st_mtime <= time.time() + 1
    assert api.dataset_info("org/out").card_data["progress"] == 50

    hub.clear_requests()
    same = api.upload_file(
        path_or_fileobj=card, path_in_repo="README.md", repo_id="org/out", repo_type="dataset"
    )
    assert [(r.method, r.path) for r in hub.requests] == [
        ("POST", "/api/validate-yaml"),
        ("POST", "/api/datasets/org/out/preupload/main"),
        ("GET", "/api/datasets/org/out/revision/main"),
    ]
    assert len(hub.commits("org/out")) == 1
    assert same.oid == info.oid


def test_invalid_card_yaml_is_rejected(hub: HubSim, api: HfApi) -> None:
    hub.create_repo("org/out")
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_file(
            path_or_fileobj=b"---\nkey: [unclosed\n---\n",
            path_in_repo="README.md",
            repo_id="org/out",
            repo_type="dataset",
        )
    assert hub.commits("org/out") == []


def test_create_commit_with_stale_parent_is_412(hub: HubSim, api: HfApi) -> None:
    hub.put_file("org/out", "README.md", "one\n")
    stale = hub.head_sha("org/out")
    hub.put_file("org/out", "data/new.parquet", parquet_bytes(1))  # someone pushed meanwhile

    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(
            "org/out",
            [CommitOperationAdd("README.md", b"two\n")],
            commit_message="update card",
            repo_type="dataset",
            parent_commit=stale,
        )
    assert err.value.response.status_code == 412
    assert "The branch was updated since you opened this page" in str(err.value)
    assert hub.commits("org/out") == []
    assert (hub.repo_dir("org/out") / "README.md").read_text() == "one\n"

    ok = api.create_commit(
        "org/out",
        [CommitOperationAdd("README.md", b"two\n")],
        commit_message="update card",
        repo_type="dataset",
        parent_commit=hub.head_sha("org/out"),
    )
    assert hub.commits("org/out")[-1].title == "update card"
    assert ok.oid == hub.head_sha("org/out")


def test_commit_deletions_and_create_repo(hub: HubSim, api: HfApi) -> None:
    url = api.create_repo("org/fresh", repo_type="dataset", private=True)
    assert url.repo_id == "org/fresh"
    assert hub.repo_dir("org/fresh").is_dir()
    assert api.create_repo("org/fresh", repo_type="dataset", exist_ok=True).repo_id == "org/fresh"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo("org/fresh", repo_type="dataset")
    assert err.value.response.status_code == 409
    assert api.dataset_info("org/fresh").private is True

    api.create_commit(
        "org/fresh",
        [
            CommitOperationAdd("a/one.txt", b"1"),
            CommitOperationAdd("a/b/two.txt", b"2"),
            CommitOperationAdd("keep.txt", b"k"),
        ],
        commit_message="add",
        repo_type="dataset",
    )
    api.create_commit(
        "org/fresh",
        [CommitOperationDelete("a/b/"), CommitOperationDelete("keep.txt")],
        commit_message="delete",
        repo_type="dataset",
    )
    assert sorted(e.path for e in api.list_repo_tree("org/fresh", repo_type="dataset", recursive=True)) == [
        "a",
        "a/one.txt",
    ]
    assert hub.commits("org/fresh")[-1].deleted == ("a/b", "keep.txt")
    with pytest.raises(RemoteEntryNotFoundError):
        api.delete_file("nope.txt", "org/fresh", repo_type="dataset")


# -- datasets -----------------------------------------------------------------------------------------


def test_load_dataset_builder_reads_split_counts_on_loopback_only(
    hub: HubSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    hosts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        hosts.append(str(host))
        if str(host) not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(f"test forbids leaving loopback: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(datasets.config, "USE_PARQUET_EXPORT", False)
    hf_http.close_session()  # no pooled connection: every connection made below resolves its host
    hub.put_file("org/input", "README.md", CARD.format(rows=12345))
    hub.put_file("org/input", "data/train-00000-of-00001.parquet", parquet_bytes(10))
    hub.clear_requests()

    builder = datasets.load_dataset_builder("org/input", cache_dir=str(tmp_path / "ds-cache"))

    assert builder.info.splits["train"].num_examples == 12345
    assert hosts and set(hosts) <= {"127.0.0.1"}
    sha = hub.head_sha("org/input")
    resolve, api_ds = "/datasets/org/input/resolve", "/api/datasets/org/input"
    assert [(r.method, r.path, r.status) for r in hub.requests] == [
        ("HEAD", f"{resolve}/main/README.md", 200),
        ("GET", f"{resolve}/main/README.md", 200),
        ("HEAD", f"{resolve}/{sha}/input.py", 404),
        ("GET", f"{api_ds}/revision/{sha}", 200),
        ("HEAD", f"{resolve}/{sha}/.huggingface.yaml", 404),
        ("GET", f"{api_ds}/tree/{sha}/data", 200),
        ("GET", f"{api_ds}/tree/{sha}", 200),
        ("HEAD", f"{resolve}/{sha}/dataset_infos.json", 404),
    ]


# -- errors, faults, auth -------------------------------------------------------------------------------


def test_missing_repo_and_missing_file(hub: HubSim, api: HfApi, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("org/nope")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/nope", "README.md", repo_type="dataset", cache_dir=tmp_path)
    hub.put_file("org/there", "README.md", "x")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("org/there", "missing.md", repo_type="dataset", cache_dir=tmp_path)
    head = next(r for r in hub.requests if r.path.endswith("missing.md"))
    assert head.status == 404
    assert not api.file_exists("org/there", "missing.md", repo_type="dataset")
    assert api.file_exists("org/there", "README.md", repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info("org/there", revision="f" * 40)


def test_faults_429_retry_after_and_503_are_retried(hub: HubSim, api: HfApi, no_sleep: list[float]) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.inject(Fault(method="GET", path_regex=r"/tree/", status=429, times=1, headers={"Retry-After": "3"}))
    hub.inject(Fault(method="GET", path_regex=r"/tree/", status=503, times=2))

    entries = list(api.list_repo_tree("org/ds", repo_type="dataset"))

    assert [e.path for e in entries] == ["README.md"]
    assert [r.status for r in tree_requests(hub)] == [429, 503, 503, 200]
    assert no_sleep == [4.0, 2, 4]  # Retry-After + 1, then the exponential back-off continues
    assert hub.faults.pending() == []


def test_fault_reset_is_retried(hub: HubSim, no_sleep: list[float]) -> None:
    hub.put_file("org/ds", "data/x.parquet", parquet_bytes(3))
    hub.inject(Fault(path_regex=r"/resolve/", reset=True))
    resp = hf_http.http_backoff(
        "GET", f"{hub.url}/datasets/org/ds/resolve/main/data/x.parquet", headers={"Range": "bytes=-4"}
    )
    assert resp.status_code == 206 and resp.content == b"PAR1"
    assert [r.status for r in hub.requests if "/resolve/" in r.path] == [0, 206]
    assert no_sleep == [1]


def test_fault_delay_provokes_client_timeout_and_faults_can_be_cleared(hub: HubSim) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.inject(Fault(path_regex=r"/api/datasets/org/ds$", status=None, delay_s=0.5))
    host, port = hub.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=0.1)
    try:
        conn.request("GET", "/api/datasets/org/ds")
        with pytest.raises(TimeoutError):
            conn.getresponse()
    finally:
        conn.close()
    status, _, _ = _raw_get(hub, "/api/datasets/org/ds")  # the fault was used up
    assert status == 200
    hub.inject(Fault(path_regex=r"/info", status=404, error_code="EntryNotFound", times=3))
    assert hub.faults.pending()[0][1] == 3
    hub.clear_faults()
    assert hub.faults.pending() == []


def test_token_rule_hides_repos_without_the_token(hub: HubSim) -> None:
    hub.put_file("private-org/ds", "README.md", "secret")
    hub.put_file("public-org/ds", "README.md", "open")
    hub.require_token("private-org", "hf_sim_token")

    with pytest.raises(RepositoryNotFoundError) as err:
        HfApi().dataset_info("private-org/ds")
    assert err.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token="wrong").dataset_info("private-org/ds")
    assert HfApi(token="hf_sim_token").dataset_info("private-org/ds").id == "private-org/ds"
    assert HfApi().dataset_info("public-org/ds").id == "public-org/ds"

    assert [r.has_token for r in hub.requests] == [False, True, True, False]
    assert "hf_sim_token" not in repr(hub.requests)


# -- server behaviour ----------------------------------------------------------------------------------


def test_concurrent_range_reads_and_listings(hub: HubSim) -> None:
    blobs = {f"data/shard-{i:02d}.parquet": parquet_bytes(20 + i) for i in range(16)}
    for path, data in blobs.items():
        hub.put_file("org/c", path, data)
    session = hf_http.get_session()

    def read_tail(i: int) -> bool:
        path = list(blobs)[i % len(blobs)]
        if i % 5 == 0:
            r = session.get(f"{hub.url}/api/datasets/org/c/tree/main/data?recursive=false&expand=false")
            return r.status_code == 200 and len(r.json()) == len(blobs)
        r = session.get(f"{hub.url}/datasets/org/c/resolve/main/{path}", headers={"Range": "bytes=-12"})
        return r.status_code == 206 and r.content == blobs[path][-12:]

    with ThreadPoolExecutor(max_workers=48) as pool:
        results = list(pool.map(read_tail, range(400)))
    assert all(results)
    assert hub.count(status=206) == 320


def test_latency_is_applied_and_adjustable(hub: HubSim) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.latency_ms = 80
    status, _, _ = _raw_get(hub, "/datasets/org/ds/resolve/main/README.md")
    assert status == 200
    assert hub.requests[-1].duration_s >= 0.08
    hub.latency_ms = 0
    _raw_get(hub, "/datasets/org/ds/resolve/main/README.md")
    assert hub.requests[-1].duration_s < 0.08
    assert hub.count(method="GET", path_contains="/resolve/", status=200) == 2


def test_a_hand_edit_in_a_10k_file_repo_is_seen_at_once(hub: HubSim) -> None:
    repo = hub.create_repo("org/huge")
    for d in range(10):
        (repo / "data" / f"part-{d}").mkdir(parents=True)
    for i in range(10_000):
        (repo / "data" / f"part-{i % 10}" / f"shard-{i:05d}.parquet").write_bytes(b"PAR1%05dPAR1" % i)
    url = "/api/datasets/org/huge/tree/main?recursive=true&expand=false"
    status, headers, _ = _raw_get(hub, url)  # the first listing hashes every file
    assert status == 200 and 'rel="next"' in headers["link"]

    hub.put_file("org/huge", "README.md", "edited")
    _, headers, body = _raw_get(hub, url)
    assert b'"path":"README.md"' in body  # directories first, then "README.md" < "data/..."
    assert hub.head_sha("org/huge") == headers["x-repo-commit"]


def test_cli_prints_url_logs_requests_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    (tmp_path / "root" / "datasets" / "org" / "ds").mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hubsim", "--root", str(tmp_path / "root"), "--log", str(log)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/api/datasets/org/ds")
        first = conn.getresponse()
        assert first.status == 200 and first.read()  # same keep-alive connection for the next one
        conn.request("GET", "/api/datasets/org/nope")
        assert conn.getresponse().status == 404
        conn.close()
        assert log.read_text().splitlines() == [
            "GET /api/datasets/org/ds 200",
            "GET /api/datasets/org/nope 404",
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()


def test_set_root_resets_state(hub: HubSim, tmp_path: Path) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.inject(Fault(path_regex="never"))
    hub.require_token("org", "t")
    _raw_get(hub, "/api/datasets/org/ds")
    hub.set_root(tmp_path / "other")
    assert hub.requests == [] and hub.faults.pending() == [] and hub.tokens == {}
    status, headers, _ = _raw_get(hub, "/api/datasets/org/ds")
    assert (status, headers["x-error-code"]) == (404, "RepoNotFound")
    assert hub.root == tmp_path / "other"


def test_hffs_writes_each_closed_file_as_one_commit_even_from_concurrent_writers(hub: HubSim) -> None:
    """How datatrove's writers upload to `hf://datasets/...`: a file open for writing, committed on close."""
    hub.create_repo("org/gen")
    fs = HfFileSystem(skip_instance_cache=True)
    hub.clear_requests()

    with fs.open("datasets/org/gen/data/00000_0.parquet", "wb") as f:
        pq.write_table(pa.table({"id": [0, 1, 2]}), f)
        assert hub.commits("org/gen") == []  # nothing is sent before the file is closed

    assert [(r.method, r.path, r.status) for r in hub.requests] == [
        ("GET", "/api/datasets/org/gen", 200),
        ("POST", "/api/datasets/org/gen/preupload/main", 200),
        ("POST", "/api/datasets/org/gen/commit/main", 200),
    ]
    assert list(hub.commits("org/gen")[0].files) == ["data/00000_0.parquet"]

    def write(rank: int) -> None:  # the tasks of a job array, each with its own client, no parent commit
        own = HfFileSystem(skip_instance_cache=True)
        for chunk in range(1, 4):
            with own.open(f"datasets/org/gen/data/{rank:05d}_{chunk}.parquet", "wb") as f:
                pq.write_table(pa.table({"id": [rank, chunk]}), f)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))

    assert len(hub.commits("org/gen")) == 1 + 4 * 3
    written = sorted((hub.repo_dir("org/gen") / "data").glob("*.parquet"))
    assert len(written) == 1 + 4 * 3
    assert sum(pq.ParquetFile(path).metadata.num_rows for path in written) == 3 + 4 * 3 * 2
