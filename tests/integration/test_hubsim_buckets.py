"""The simulator's Storage Buckets, through the real ``huggingface_hub`` client (HfApi and HfFileSystem)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import huggingface_hub.utils._http as hf_http
import pyarrow.parquet as pq
import pytest
from huggingface_hub import BucketFile, BucketFolder, HfApi, HfFileSystem
from huggingface_hub.errors import (
    BucketNotFoundError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import get_session

from tests.hubsim import Fault, HubSim
from tests.support import parquet_bytes

TOKEN = "hf_sim_bucket_token"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)


@pytest.fixture
def api(hub: HubSim) -> HfApi:
    return HfApi(endpoint=hub.url)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the client's retry back-off instant; returns the sleeps it asked for."""
    sleeps: list[float] = []
    monkeypatch.setattr(hf_http.time, "sleep", sleeps.append)
    return sleeps


def xet_hash(data: bytes) -> str:
    """The simulator's xetHash of ``data`` (stable, derived from the sha256 of the content)."""
    return hashlib.sha256(b"hubsim-xet\0" + hashlib.sha256(data).hexdigest().encode()).hexdigest()


def tree_requests(hub: HubSim) -> list[str]:
    return [f"{r.path}?{r.query}" for r in hub.requests if "/tree" in r.path]


# -- info and listings ------------------------------------------------------------------------------------


def test_bucket_info_counts_files_and_bytes(hub: HubSim, api: HfApi) -> None:
    hub.create_bucket("org/b")
    hub.put_bucket_file("org/b", "a.txt", b"12345")
    hub.put_bucket_file("org/b", "raw/x/1.parquet", b"0" * 100)

    info = api.bucket_info("org/b")

    assert (info.id, info.private, info.size, info.total_files) == ("org/b", False, 105, 2)
    assert info.created_at.tzinfo is not None
    assert abs(info.created_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert hub.bucket_dir("org/b") == hub.root / "buckets" / "org" / "b"
    assert (hub.bucket_dir("org/b") / "raw/x/1.parquet").read_bytes() == b"0" * 100


def test_missing_bucket_is_bucket_not_found_everywhere(hub: HubSim, api: HfApi) -> None:
    with pytest.raises(BucketNotFoundError):
        api.bucket_info("org/nope")
    with pytest.raises(BucketNotFoundError):
        list(api.list_bucket_tree("org/nope", recursive=True))
    with pytest.raises(BucketNotFoundError):
        list(api.get_bucket_paths_info("org/nope", ["a"]))
    with pytest.raises(RepositoryNotFoundError):  # not an /api/buckets URL: the client's generic error
        api.get_bucket_file_metadata("org/nope", "a")
    with pytest.raises(FileNotFoundError):
        HfFileSystem(endpoint=hub.url, skip_instance_cache=True).ls("buckets/org/nope")
    assert {(r.status, r.bucket) for r in hub.requests} == {(404, "api"), (404, "resolvers")}


def test_recursive_listing_pages_through_link_headers(hub: HubSim, api: HfApi) -> None:
    hub.create_bucket("org/big")
    paths = [f"raw/{i % 3}/{i:05d}.parquet" for i in range(1005)]
    for i, path in enumerate(paths):
        hub.put_bucket_file("org/big", path, str(i))

    listed = list(api.list_bucket_tree("org/big", recursive=True))
    assert tree_requests(hub) == [
        "/api/buckets/org/big/tree?recursive=true",
        f"/api/buckets/org/big/tree?recursive=true&cursor={sorted(paths)[999].replace('/', '%2F')}",
    ]
    assert all(isinstance(e, BucketFile) for e in listed)  # recursive: files only, no folders
    assert [e.path for e in listed] == sorted(paths)
    files = {e.path: e for e in listed if isinstance(e, BucketFile)}
    assert (files[paths[7]].size, files[paths[7]].xet_hash) == (1, xet_hash(b"7"))

    hub.bucket_page_size = 100
    hub.clear_requests()
    assert [e.path for e in api.list_bucket_tree("org/big", prefix="raw/1", recursive=True)] == sorted(
        p for p in paths if p.startswith("raw/1/")
    )
    pages = tree_requests(hub)
    assert len(pages) == 4 and pages[0] == "/api/buckets/org/big/tree/raw%2F1?recursive=true"
    assert all(r.status == 200 and r.bucket == "api" for r in hub.requests)


def test_a_file_added_or_deleted_between_pages_does_not_shift_the_others(hub: HubSim, api: HfApi) -> None:
    for i in range(10):
        hub.put_bucket_file("org/b", f"{i:02d}.txt", "x")
    hub.bucket_page_size = 4
    seen: list[str] = []
    for entry in api.list_bucket_tree("org/b", recursive=True):
        seen.append(entry.path)
        if entry.path == "01.txt":
            hub.delete_bucket_files("org/b", ["00.txt"])
            hub.put_bucket_file("org/b", "00b.txt", "late")  # sorts before the cursor: not seen
            hub.put_bucket_file("org/b", "99.txt", "late")
    assert seen == [f"{i:02d}.txt" for i in range(10)] + ["99.txt"]


def test_non_recursive_listing_has_folders_and_hffs_uses_it(hub: HubSim, api: HfApi) -> None:
    hub.put_bucket_file("org/b", "README.md", "card", uploaded_at=T0)
    hub.put_bucket_file("org/b", "data/00000.parquet", "a", uploaded_at=T0 + timedelta(seconds=1))
    hub.put_bucket_file("org/b", "data/sub/00001.parquet", "b", uploaded_at=T0 + timedelta(seconds=5))
    hub.put_bucket_file("org/b", "data_old/x.txt", "c", uploaded_at=T0)

    root = list(api.list_bucket_tree("org/b", recursive=False))
    assert [(type(e), e.path, e.uploaded_at) for e in root] == [
        (BucketFile, "README.md", T0),
        (BucketFolder, "data", T0 + timedelta(seconds=5)),  # the newest upload below it
        (BucketFolder, "data_old", T0),
    ]
    # a prefix is a raw string prefix, as on the Hub: "data" also matches "data_old/..."
    below = list(api.list_bucket_tree("org/b", prefix="data", recursive=False))
    assert [(e.type, e.path) for e in below] == [
        ("file", "data/00000.parquet"),
        ("directory", "data/sub"),
        ("file", "data_old/x.txt"),
    ]
    assert list(api.list_bucket_tree("org/b", prefix="nothing/here", recursive=False)) == []
    assert [e.path for e in api.list_bucket_tree("org/b", prefix="data/00000.parquet")] == [
        "data/00000.parquet"
    ]
    assert [e.path for e in api.list_bucket_tree("org/b")] == [  # no ``recursive``: recursive, as the Hub
        "README.md",
        "data/00000.parquet",
        "data/sub/00001.parquet",
        "data_old/x.txt",
    ]

    fs = HfFileSystem(endpoint=hub.url, skip_instance_cache=True)
    assert fs.ls("buckets/org/b/data", detail=False) == [
        "buckets/org/b/data/00000.parquet",
        "buckets/org/b/data/sub",
    ]
    assert fs.isdir("buckets/org/b/data/sub") and fs.info("buckets/org/b/data/00000.parquet")["size"] == 1
    assert fs.find("buckets/org/b/data") == [
        "buckets/org/b/data/00000.parquet",
        "buckets/org/b/data/sub/00001.parquet",
    ]
    with pytest.raises(FileNotFoundError):
        fs.ls("buckets/org/b/dat")  # only "data..." matches: the client drops it
    assert "/api/buckets/org/b/tree/dat?recursive=false" in tree_requests(hub)


def test_dates_are_upload_time_and_uploader_mtime(hub: HubSim, api: HfApi) -> None:
    uploaded = T0 + timedelta(hours=1)
    hub.put_bucket_file("org/b", "a.parquet", "a", uploaded_at=uploaded, mtime=T0)
    hub.put_bucket_file("org/b", "b.parquet", "b", uploaded_at=uploaded.timestamp())
    later = hub.put_bucket_file("org/b", "c.parquet", "c")

    files = {e.path: e for e in api.list_bucket_tree("org/b", recursive=True) if isinstance(e, BucketFile)}
    assert (files["a.parquet"].uploaded_at, files["a.parquet"].mtime) == (uploaded, T0)
    assert (files["b.parquet"].uploaded_at, files["b.parquet"].mtime) == (uploaded, uploaded)
    c = files["c.parquet"]
    assert c.uploaded_at is not None and c.uploaded_at == c.mtime
    assert abs(c.uploaded_at - datetime.now(timezone.utc)) < timedelta(minutes=1)

    # the file's mtime on disk is its upload time: a test back-dates it with os.utime
    os.utime(later, (T0.timestamp(), T0.timestamp()))
    (back,) = api.get_bucket_paths_info("org/b", ["c.parquet"])
    assert (back.uploaded_at, back.mtime) == (T0, T0)
    # a recorded uploader mtime lasts while the file is left as it was put
    os.utime(hub.bucket_dir("org/b") / "a.parquet", (T0.timestamp(), T0.timestamp()))
    (a,) = api.get_bucket_paths_info("org/b", ["a.parquet"])
    assert (a.uploaded_at, a.mtime) == (T0, T0)


def test_paths_info_answers_existing_files_only_and_refuses_over_1000(hub: HubSim, api: HfApi) -> None:
    hub.put_bucket_file("org/b", "data/1.parquet", b"one")
    hub.put_bucket_file("org/b", "README.md", b"card")

    found = list(api.get_bucket_paths_info("org/b", ["data/1.parquet", "data", "missing.txt", "README.md"]))
    assert [(e.path, e.size, e.xet_hash) for e in found] == [
        ("data/1.parquet", 3, xet_hash(b"one")),
        ("README.md", 4, xet_hash(b"card")),
    ]
    assert all(isinstance(e.uploaded_at, datetime) and isinstance(e.mtime, datetime) for e in found)

    url = f"{hub.url}/api/buckets/org/b/paths-info"
    r = get_session().post(url, json={"paths": [f"{i}" for i in range(1001)]})
    assert r.status_code == 413
    assert [r.status for r in hub.requests] == [200, 413]


# -- reads through the Xet bridge -----------------------------------------------------------------------


def test_file_metadata_comes_from_the_302(hub: HubSim, api: HfApi) -> None:
    content = parquet_bytes(50)
    hub.put_bucket_file("org/b", "raw/00000.parquet", content)

    meta = api.get_bucket_file_metadata("org/b", "raw/00000.parquet")

    assert meta.size == len(content)
    assert meta.xet_file_data.file_hash == xet_hash(content)
    assert meta.xet_file_data.refresh_route == f"{hub.url}/api/buckets/org/b/xet-read-token"
    (head,) = hub.requests
    assert (head.method, head.path, head.status, head.bucket) == (
        "HEAD",
        "/buckets/org/b/resolve/raw%2F00000.parquet",
        302,
        "resolvers",
    )
    assert hub.bridge.requests == []  # the metadata is on the redirect: the client stops there
    with pytest.raises(RemoteEntryNotFoundError):
        api.get_bucket_file_metadata("org/b", "raw/missing.parquet")


def test_range_reads_go_through_the_302_and_the_token_stays_home(hub: HubSim) -> None:
    content = parquet_bytes(3000)
    hub.create_bucket("org/b", private=True)
    hub.put_bucket_file("org/b", "raw/00000.parquet", content)
    hub.require_token("org", TOKEN)
    fs = HfFileSystem(endpoint=hub.url, token=TOKEN, skip_instance_cache=True)
    shard = "hf://buckets/org/b/raw/00000.parquet"

    with fs.open(shard, "rb") as f:
        assert pq.ParquetFile(f).metadata.num_rows == 3000
    with fs.open(shard, "rb", block_size=64) as f:
        f.seek(100)
        assert f.read(10) == content[100:110]
    with fs.open(shard, "rb") as f:
        assert f.read() == content  # a whole file streams from the bridge: no Xet protocol needed

    resolves = [r for r in hub.requests if "/resolve/" in r.path]
    assert resolves and all((r.method, r.status, r.has_token) == ("GET", 302, True) for r in resolves)
    assert all(r.path == "/buckets/org/b/resolve/raw/00000.parquet" for r in resolves)
    bridge = hub.bridge.requests
    assert len(bridge) == len(resolves) and all(b.authorization is None for b in bridge)
    assert bridge[-1].range is None and bridge[-1].status == 200
    ranged = bridge[:-1]
    assert ranged and all(b.status == 206 and re.fullmatch(r"bytes=\d+-\d+", b.range or "") for b in ranged)
    assert not any("xet-read-token" in r.path for r in hub.requests)


def test_the_bridge_refuses_suffix_ranges_and_serves_bounded_ones(hub: HubSim) -> None:
    content = bytes(range(200))
    hub.put_bucket_file("org/b", "blob.bin", content)
    url = f"{hub.url}/buckets/org/b/resolve/blob.bin"
    session = get_session()

    bounded = session.get(url, headers={"Range": "bytes=10-19", "Authorization": f"Bearer {TOKEN}"})
    suffix = session.get(url, headers={"Range": "bytes=-16"})

    assert (bounded.status_code, bounded.content) == (206, content[10:20])
    assert bounded.headers["Content-Range"] == "bytes 10-19/200"
    assert (suffix.status_code, suffix.headers["Content-Range"]) == (416, "bytes */200")
    assert [(b.range, b.status, b.authorization) for b in hub.bridge.requests] == [
        ("bytes=10-19", 206, None),
        ("bytes=-16", 416, None),
    ]
    redirect = bounded.history[0]
    assert redirect.status_code == 302 and redirect.headers["X-Linked-Size"] == "200"
    assert redirect.headers["X-Xet-Hash"] == xet_hash(content)
    assert redirect.headers["Location"].startswith(hub.bridge.url + "/xet-bridge-us/")


# -- writes ---------------------------------------------------------------------------------------------


def test_batch_deletes_and_the_listing_no_longer_has_them(hub: HubSim, api: HfApi) -> None:
    for i in range(4):
        hub.put_bucket_file("org/b", f"raw/{i}.parquet", str(i))
    hub.put_bucket_file("org/b", "raw/deep/x.parquet", "x")

    api.batch_bucket_files("org/b", delete=["raw/0.parquet", "raw/deep/x.parquet", "raw/never-there"])

    (batch,) = [r for r in hub.requests if r.path.endswith("/batch")]
    assert (batch.method, batch.status, batch.bucket) == ("POST", 200, "api")
    assert [e.path for e in api.list_bucket_tree("org/b", recursive=True)] == [
        "raw/1.parquet",
        "raw/2.parquet",
        "raw/3.parquet",
    ]
    assert not (hub.bucket_dir("org/b") / "raw" / "deep").exists()  # no empty folders in a bucket

    assert hub.delete_bucket_files("org/b", "raw/2") == ["raw/2.parquet"]  # a raw string prefix
    assert hub.delete_bucket_files("org/b", ["raw/1.parquet", "nope"]) == ["raw/1.parquet"]
    fs = HfFileSystem(endpoint=hub.url, skip_instance_cache=True)
    fs.rm("buckets/org/b/raw/3.parquet")
    assert list(api.list_bucket_tree("org/b", recursive=True)) == []
    assert api.bucket_info("org/b").total_files == 0


def test_uploads_need_xet_and_fail_fast_with_a_clear_answer(hub: HubSim, api: HfApi) -> None:
    hub.put_bucket_file("org/b", "a.txt", "a")

    with pytest.raises(Exception, match=r"501.*xet-write-token"):
        api.batch_bucket_files("org/b", add=[(b"new", "new.txt")])

    (token,) = hub.requests
    assert (token.path, token.status) == ("/api/buckets/org/b/xet-write-token", 501)
    # the /batch route refuses addFile itself too, before applying any line of the batch
    body = b"".join(
        json.dumps(line).encode() + b"\n"
        for line in (
            {"type": "deleteFile", "path": "a.txt"},
            {"type": "addFile", "path": "n.txt", "xetHash": "0" * 64, "mtime": 0},
        )
    )
    r = get_session().post(f"{hub.url}/api/buckets/org/b/batch", content=body)
    assert r.status_code == 501 and "no Xet storage" in r.json()["error"]
    assert [e.path for e in api.list_bucket_tree("org/b")] == ["a.txt"]


def test_create_bucket_through_the_api(hub: HubSim, api: HfApi) -> None:
    url = api.create_bucket("org/made", private=True)
    assert url.bucket_id == "org/made"
    assert api.create_bucket("org/made", exist_ok=True).bucket_id == "org/made"
    with pytest.raises(HfHubHTTPError) as err:
        api.create_bucket("org/made")
    assert err.value.response.status_code == 409
    assert hub.bucket_dir("org/made").is_dir()
    assert HfApi(endpoint=hub.url, token=TOKEN).bucket_info("org/made").private


# -- auth, quota and faults -----------------------------------------------------------------------------


def test_private_buckets_and_token_rules(hub: HubSim) -> None:
    hub.create_bucket("org/p", private=True)
    hub.put_bucket_file("org/p", "a.txt", "a")
    anonymous, owner = HfApi(endpoint=hub.url, token=False), HfApi(endpoint=hub.url, token=TOKEN)

    assert owner.bucket_info("org/p").private is True
    with pytest.raises(BucketNotFoundError) as err:
        anonymous.bucket_info("org/p")
    assert err.value.response.status_code == 401  # what the Hub answered the client's own tests
    with pytest.raises(BucketNotFoundError):
        list(anonymous.list_bucket_tree("org/p"))

    hub.require_token("org", TOKEN)  # the simulator's per-org token rules apply to buckets as to repos
    with pytest.raises(BucketNotFoundError):
        HfApi(endpoint=hub.url, token="hf_someone_else").bucket_info("org/p")
    assert [e.path for e in owner.list_bucket_tree("org/p")] == ["a.txt"]
    assert TOKEN not in repr(hub.requests)


def test_quota_counts_bucket_api_calls_and_file_reads(hub: HubSim, api: HfApi, no_sleep: list[float]) -> None:
    hub.put_bucket_file("org/b", "a.parquet", parquet_bytes(10))
    hub.set_quota("api", limit=2, window_s=300)
    hub.set_quota("resolvers", limit=1, window_s=300)

    api.bucket_info("org/b")
    assert [e.path for e in api.list_bucket_tree("org/b")] == ["a.parquet"]
    with pytest.raises(HfHubHTTPError) as err:
        api.bucket_info("org/b")  # not retried by the client
    assert err.value.response.status_code == 429
    assert api.get_bucket_file_metadata("org/b", "a.parquet").size > 0
    with pytest.raises(HfHubHTTPError):
        api.get_bucket_file_metadata("org/b", "a.parquet")  # retried, then given up

    assert [(r.bucket, r.status) for r in hub.requests][:4] == [
        ("api", 200),
        ("api", 200),
        ("api", 429),
        ("resolvers", 302),
    ]
    assert hub.throttled("api") == 1 and hub.throttled("resolvers") == 6
    assert len(no_sleep) == 5 and all(s >= 300 for s in no_sleep)  # RateLimit t + 1, as the client waits
    assert hub.quota_windows("api") == 1 and hub.quota_windows("resolvers") == 1


def test_faults_hit_bucket_routes_and_the_listing_retries(
    hub: HubSim, api: HfApi, no_sleep: list[float]
) -> None:
    hub.put_bucket_file("org/b", "a.txt", "a")
    hub.inject(Fault(method="GET", path_regex=r"^/api/buckets/org/b/tree", status=503, times=2))

    assert [e.path for e in api.list_bucket_tree("org/b")] == ["a.txt"]
    assert [r.status for r in hub.requests] == [503, 503, 200] and no_sleep == [1, 2]


def test_set_root_forgets_buckets_and_the_page_size(hub: HubSim, api: HfApi, tmp_path: Path) -> None:
    hub.create_bucket("org/b", private=True)
    hub.bucket_page_size = 3
    hub.set_root(tmp_path / "other")
    assert hub.bucket_page_size == 1000
    with pytest.raises(BucketNotFoundError):
        api.bucket_info("org/b")
    hub.bucket_dir("org/b").mkdir(parents=True)  # a folder made by hand is a public bucket
    info = api.bucket_info("org/b")
    assert (info.private, info.total_files) == (False, 0)
