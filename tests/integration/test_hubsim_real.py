"""The simulator's less kind modes (quota, Xet bridge, 307 resolve-cache, hard limits), with real clients."""

from __future__ import annotations

import hashlib
import http.client
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import huggingface_hub.utils._http as hf_http
import pyarrow.parquet as pq
import pytest
import urllib3
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RemoteEntryNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import hf_raise_for_status, parse_ratelimit_headers

from tests.hubsim import Fault, HubSim
from tests.support import parquet_bytes

TOKEN = "hf_sim_secret_token"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CARD = """---
dataset_info:
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
# Input
"""


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(hub: HubSim) -> FakeClock:
    """The quota's clock, under the test's control (set_root puts the real one back)."""
    fake = FakeClock()
    hub.quota.clock = fake
    return fake


@pytest.fixture
def api_token() -> HfApi:
    return HfApi(token=TOKEN)


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    manager = urllib3.PoolManager(retries=urllib3.Retry(total=3, redirect=3, status=0, raise_on_status=False))
    yield manager
    manager.clear()


def raw(
    hub: HubSim, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, redirects not followed."""
    host, port = hub.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def follow(
    pool: urllib3.PoolManager, url: str, headers: dict[str, str] | None = None
) -> urllib3.BaseHTTPResponse:
    """GET following redirects (urllib3 drops Authorization on a cross-host redirect)."""
    return pool.request("GET", url, headers=headers or {}, redirect=True, preload_content=True)


# -- quota mode -------------------------------------------------------------------------------------------


def test_quota_headers_on_every_answer_then_429_without_retry_after(hub: HubSim, clock: FakeClock) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.set_quota("api", limit=3, window_s=300)

    answers = [raw(hub, "GET", "/api/datasets/org/ds") for _ in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert [h["ratelimit"] for _, h, _ in answers] == [
        '"api";r=2;t=300',
        '"api";r=1;t=300',
        '"api";r=0;t=300',
    ]
    assert {h["ratelimit-policy"] for _, h, _ in answers} == {'"fixed window";"api";q=3;w=300'}
    clock.now += 99.5
    status, headers, body = raw(hub, "GET", "/api/datasets/org/ds/tree/main")
    assert status == 429
    assert "retry-after" not in headers
    assert b"rate-limited" in body and body.startswith(b'{"error":')
    assert headers["ratelimit"] == '"api";r=0;t=201'  # 200.5 s left, rounded up
    info = parse_ratelimit_headers(headers)
    assert info is not None
    assert (info.resource_type, info.remaining, info.reset_in_seconds) == ("api", 0, 201)
    assert (info.limit, info.window_seconds) == (3, 300)

    # file reads are the other bucket, not in quota mode here: no headers, no refusal
    status, headers, _ = raw(hub, "GET", "/datasets/org/ds/resolve/main/README.md")
    assert status == 200 and "ratelimit" not in headers
    assert [(r.bucket, r.throttled) for r in hub.requests] == [
        ("api", False),
        ("api", False),
        ("api", False),
        ("api", True),
        ("resolvers", False),
    ]
    assert (hub.throttled(), hub.throttled("api"), hub.throttled("resolvers")) == (1, 1, 0)
    assert hub.quota_windows("api") == 1 and hub.quota_windows("resolvers") == 0


def test_quota_windows_are_fixed_per_account_and_bucket(hub: HubSim, clock: FakeClock) -> None:
    hub.put_file("org/ds", "README.md", "x")
    hub.set_quota("api", limit=2, window_s=10)
    hub.set_quota("resolvers", limit=1, window_s=60)
    info = "/api/datasets/org/ds"
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    def ratelimit(path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        status, answer, _ = raw(hub, "GET", path, headers)
        return status, answer["ratelimit"]

    assert ratelimit(info) == (200, '"api";r=1;t=10')
    clock.now += 4
    assert ratelimit(info) == (200, '"api";r=0;t=6')  # the window started with the first request
    assert ratelimit(info) == (429, '"api";r=0;t=6')
    assert ratelimit(info, bearer) == (200, '"api";r=1;t=10')  # another account, its own window
    assert ratelimit("/datasets/org/ds/resolve/main/README.md") == (200, '"resolvers";r=0;t=60')
    clock.now += 6  # the anonymous window ends: the next request opens a new one
    assert ratelimit(info) == (200, '"api";r=1;t=10')
    assert ratelimit(info) == (200, '"api";r=0;t=10')  # the 429 above used up nothing
    assert ratelimit(info, bearer) == (200, '"api";r=0;t=4')
    assert ratelimit(info, bearer) == (429, '"api";r=0;t=4')
    assert (hub.quota_windows("api"), hub.quota_windows("api", "anonymous")) == (3, 2)
    assert hub.quota_windows("api", TOKEN) == 1 and hub.quota_windows("resolvers") == 1
    assert hub.throttled("api") == 2
    assert TOKEN not in repr(hub.requests)

    hub.clear_quota()
    status, headers, _ = raw(hub, "GET", info)
    assert status == 200 and "ratelimit" not in headers
    assert hub.quota_windows("api") == 0


def test_client_waits_out_the_window_as_the_headers_say(
    hub: HubSim, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(hf_http.time, "sleep", sleep)
    hub.put_file("org/ds", "README.md", "x")
    hub.set_quota("api", limit=1, window_s=300)
    api = HfApi(token=TOKEN)

    assert api.dataset_info("org/ds").id == "org/ds"
    with pytest.raises(HfHubHTTPError) as err:  # info calls are not retried
        api.dataset_info("org/ds")
    assert err.value.response.status_code == 429
    assert "reached your 'api' rate limit" in str(err.value)
    assert "0/1 requests remaining in current 300s window" in str(err.value)

    clock.now += 100
    entries = list(api.list_repo_tree("org/ds", repo_type="dataset"))  # tree pages are retried

    assert [e.path for e in entries] == ["README.md"]
    assert sleeps == [201.0]  # t + 1
    assert [(r.status, r.throttled) for r in hub.requests] == [
        (200, False),
        (429, True),
        (429, True),
        (200, False),
    ]
    assert hub.quota_windows("api", TOKEN) == 2


def test_resolvers_bucket_counts_resolve_and_resolve_cache(hub: HubSim, clock: FakeClock) -> None:
    hub.put_file("org/ds", "README.md", "hello\n")
    sha = hub.head_sha("org/ds")
    hub.set_quota("resolvers", limit=2, window_s=60)

    assert raw(hub, "HEAD", "/datasets/org/ds/resolve/main/README.md")[0] == 200
    status, headers, body = raw(hub, "GET", f"/api/resolve-cache/datasets/org/ds/{sha}/README.md")
    assert (status, body, headers["ratelimit"]) == (200, b"hello\n", '"resolvers";r=0;t=60')
    status, headers, _ = raw(hub, "GET", "/datasets/org/ds/resolve/main/README.md")
    assert (status, headers["ratelimit"], "retry-after" in headers) == (429, '"resolvers";r=0;t=60', False)
    status, headers, _ = raw(hub, "GET", "/api/datasets/org/ds")  # the api bucket is unlimited here
    assert status == 200 and "ratelimit" not in headers
    assert [r.bucket for r in hub.requests] == ["resolvers", "resolvers", "resolvers", "api"]
    assert hub.throttled("resolvers") == 1


def test_quota_is_exact_under_64_concurrent_clients(hub: HubSim) -> None:
    hub.put_file("org/ds", "data/x.parquet", parquet_bytes(5))
    hub.set_quota("resolvers", limit=100, window_s=300)
    session = hf_http.get_session()
    url = f"{hub.url}/datasets/org/ds/resolve/main/data/x.parquet"

    def read(_: int) -> tuple[int, int]:
        r = session.get(url, headers={"Range": "bytes=-8"})
        info = parse_ratelimit_headers(r.headers)
        assert info is not None
        return r.status_code, info.remaining

    with ThreadPoolExecutor(max_workers=64) as workers:
        answers = list(workers.map(read, range(300)))

    served = sorted(remaining for status, remaining in answers if status == 206)
    assert served == list(range(100))  # each unit of quota handed out exactly once
    assert sorted({(s, r) for s, r in answers if s != 206}) == [(429, 0)]
    assert hub.throttled("resolvers") == 200
    assert hub.quota_windows("resolvers") == 1


# -- Xet mode ---------------------------------------------------------------------------------------------


def test_xet_listings_carry_a_content_hash(hub: HubSim, api_token: HfApi) -> None:
    hub.put_file("org/x", "README.md", "card\n")
    hub.put_file("org/x", "data/a.parquet", parquet_bytes(3))
    hub.put_file("org/x", "data/b.parquet", parquet_bytes(4))
    plain = {e.path: e for e in api_token.list_repo_tree("org/x", repo_type="dataset", recursive=True)}
    assert all(getattr(e, "xet_hash", None) is None for e in plain.values())

    hub.enable_xet()
    listed = {e.path: e for e in api_token.list_repo_tree("org/x", repo_type="dataset", recursive=True)}
    a, b, readme = listed["data/a.parquet"], listed["data/b.parquet"], listed["README.md"]
    assert isinstance(a, RepoFile) and isinstance(b, RepoFile) and isinstance(readme, RepoFile)
    assert a.xet_hash is not None and HEX64.match(a.xet_hash)
    assert b.xet_hash is not None and a.xet_hash != b.xet_hash
    assert readme.xet_hash is None
    assert a.lfs is not None and a.lfs.sha256 == hashlib.sha256(parquet_bytes(3)).hexdigest()
    (info,) = api_token.get_paths_info("org/x", ["data/a.parquet"], repo_type="dataset", expand=True)
    assert isinstance(info, RepoFile) and info.xet_hash == a.xet_hash


def test_xet_resolve_is_a_302_to_a_signed_bridge_url(hub: HubSim, pool: urllib3.PoolManager) -> None:
    content = parquet_bytes(40)
    size = len(content)
    hub.put_file("org/x", "data/a.parquet", content)
    hub.enable_xet()
    sha = hub.head_sha("org/x")
    path = "/datasets/org/x/resolve/main/data/a.parquet"

    for method in ("HEAD", "GET"):
        status, headers, body = raw(hub, method, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 302
        assert headers["x-repo-commit"] == sha
        assert headers["x-linked-size"] == str(size)
        assert headers["x-linked-etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        assert HEX64.match(headers["x-xet-hash"])
        assert headers["etag"] and headers["etag"] != headers["x-linked-etag"]
        assert "link" not in headers and "x-xet-refresh-route" not in headers
        length = int(headers["content-length"])
        assert length > 0 and len(body) == (0 if method == "HEAD" else length)
    location = headers["location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.hostname) == ("http", "127.0.0.2")
    assert f"{parts.scheme}://{parts.netloc}" == hub.bridge.url
    assert parts.path == f"/xet-bridge-us/{headers['x-xet-hash']}"
    query = parse_qs(parts.query)
    assert query["X-Xet-Signed-Range"] == [f"bytes=0-{size - 1}"]
    assert HEX64.match(query["Signature"][0])
    assert 3500 < int(query["Expires"][0]) - time.time() <= 3600

    # the bridge: bounded ranges only, the whole file without Range
    hub.bridge.clear_requests()
    r = follow(pool, hub.url + path, {"Range": "bytes=4-9", "Authorization": f"Bearer {TOKEN}"})
    assert (r.status, r.data, r.headers["Content-Range"]) == (206, content[4:10], f"bytes 4-9/{size}")
    assert r.headers["Content-Length"] == "6"
    r = follow(pool, hub.url + path, {"Range": "bytes=-16"})
    assert (r.status, r.headers["Content-Range"]) == (416, f"bytes */{size}")
    r = follow(pool, hub.url + path, {"Range": f"bytes={size}-{size + 5}"})
    assert r.status == 416
    r = follow(pool, hub.url + path)
    assert (r.status, r.data) == (200, content)
    assert [(b.method, b.range, b.status, b.authorization) for b in hub.bridge.requests] == [
        ("GET", "bytes=4-9", 206, None),
        ("GET", "bytes=-16", 416, None),
        ("GET", f"bytes={size}-{size + 5}", 416, None),
        ("GET", None, 200, None),
    ]
    assert hub.bridge.requests[0].path == parts.path and hub.bridge.requests[0].query == parts.query

    # the signature covers path and expiry, and expires
    forged = location.replace(query["Expires"][0], str(int(query["Expires"][0]) + 3600))
    assert follow(pool, forged).status == 403
    assert follow(pool, location.replace(parts.path, "/xet-bridge-us/" + "0" * 64)).status == 403
    assert follow(pool, f"{hub.bridge.url}{parts.path}").status == 403
    hub.bridge.url_ttl_s = -1
    _, headers, _ = raw(hub, "GET", path)
    expired = follow(pool, headers["location"])
    assert (expired.status, expired.data) == (403, b"Request has expired")


def test_hffs_reads_a_xet_shard_through_the_bridge_and_the_token_stays_home(
    hub: HubSim, tmp_path: Path
) -> None:
    content = parquet_bytes(1234)
    hub.put_file("org/x", "data/train-00000.parquet", content)
    hub.require_token("org", TOKEN)
    hub.enable_xet()
    fs = HfFileSystem(token=TOKEN, skip_instance_cache=True)
    shard = "datasets/org/x/data/train-00000.parquet"
    hub.clear_requests()

    with fs.open(shard, "rb") as f:
        assert pq.ParquetFile(f).metadata.num_rows == 1234
    with fs.open(shard, "rb", block_size=100) as f:
        f.seek(50)
        assert f.read(20) == content[50:70]
    fs.get_file(shard, str(tmp_path / "copy.parquet"))  # no Xet protocol: HF_HUB_DISABLE_XET=1
    assert (tmp_path / "copy.parquet").read_bytes() == content

    resolves = [r for r in hub.requests if "/resolve/" in r.path]
    assert resolves and all((r.status, r.has_token) == (302, True) for r in resolves)
    assert not any("xet-read-token" in r.path for r in hub.requests)
    bridge = hub.bridge.requests
    assert len(bridge) == len(resolves)
    assert all(b.authorization is None for b in bridge)
    ranged = [b for b in bridge if b.range is not None]
    assert ranged and {b.status for b in ranged} == {206}
    assert all(re.fullmatch(r"bytes=\d+-\d+", b.range or "") for b in ranged)  # bounded ranges only


def test_hf_hub_download_of_a_xet_shard_goes_to_the_bridge_without_auth(hub: HubSim, tmp_path: Path) -> None:
    content = parquet_bytes(30)
    hub.put_file("org/x", "data/a.parquet", content)
    hub.require_token("org", TOKEN)
    hub.enable_xet()
    hub.clear_requests()

    local = hf_hub_download("org/x", "data/a.parquet", repo_type="dataset", token=TOKEN, cache_dir=tmp_path)

    assert Path(local).read_bytes() == content
    assert [(r.method, r.status) for r in hub.requests] == [("HEAD", 302)]
    assert [(b.method, b.status, b.range, b.authorization) for b in hub.bridge.requests] == [
        ("GET", 200, None, None)
    ]
    blob = Path(local).resolve().name
    assert blob == hashlib.sha256(content).hexdigest()  # X-Linked-ETag names the cached blob


def test_bridge_faults_are_its_own_and_a_one_off_416_passes_on_retry(
    hub: HubSim, pool: urllib3.PoolManager
) -> None:
    content = parquet_bytes(20)
    hub.put_file("org/x", "data/a.parquet", content)
    hub.enable_xet()
    url = f"{hub.url}/datasets/org/x/resolve/main/data/a.parquet"
    hub.bridge.inject(Fault(method="GET", path_regex=r"^/xet-bridge-us/", status=416, times=1))

    first = follow(pool, url, {"Range": "bytes=0-7"})
    again = follow(pool, url, {"Range": "bytes=0-7"})

    assert (first.status, again.status, again.data) == (416, 206, content[:8])
    assert [r.status for r in hub.requests] == [302, 302]  # the Hub's own faults are untouched
    assert hub.bridge.faults.pending() == []
    hub.bridge.inject(Fault(path_regex="never"))
    hub.bridge.clear_faults()
    hub.bridge.clear_requests()
    assert hub.bridge.faults.pending() == [] and hub.bridge.requests == []


def test_ignore_ranges_serves_the_whole_file_on_hub_and_bridge(
    hub: HubSim, pool: urllib3.PoolManager
) -> None:
    content = parquet_bytes(25)
    hub.put_file("org/x", "data/a.parquet", content)
    hub.ignore_ranges = True

    for rng in ("bytes=4-9", "bytes=-8", f"bytes={len(content) + 10}-"):
        status, headers, body = raw(hub, "GET", "/datasets/org/x/resolve/main/data/a.parquet", {"Range": rng})
        assert (status, body, "content-range" in headers) == (200, content, False)
    hub.enable_xet()
    for rng in ("bytes=4-9", "bytes=-8"):
        r = follow(pool, f"{hub.url}/datasets/org/x/resolve/main/data/a.parquet", {"Range": rng})
        assert (r.status, r.data) == (200, content)
    assert [b.status for b in hub.bridge.requests] == [200, 200]


def test_datasets_reads_xet_backed_shards_behind_a_307_card(
    hub: HubSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "USE_PARQUET_EXPORT", False)  # no datasets-server lookup

    hub.put_file("org/input", "README.md", CARD.format(rows=7))
    hub.put_file("org/input", "data/train-00000-of-00001.parquet", parquet_bytes(7))
    hub.enable_xet()
    hub.resolve_cache = True

    builder = datasets.load_dataset_builder("org/input", cache_dir=str(tmp_path / "ds"))
    assert builder.info.splits["train"].num_examples == 7
    ds = datasets.load_dataset("org/input", split="train", cache_dir=str(tmp_path / "ds"))
    assert ds.num_rows == 7 and ds["id"] == list(range(7))
    assert any(r.status == 307 for r in hub.requests)
    assert any(b.status == 200 for b in hub.bridge.requests)


# -- 307 resolve-cache -----------------------------------------------------------------------------------


def test_resolve_cache_307_is_relative_and_hf_hub_download_follows_it(hub: HubSim, tmp_path: Path) -> None:
    card = b"# card\n"
    hub.put_file("org/ds", "README.md", card)
    hub.put_file("org/ds", "data/a.parquet", parquet_bytes(2))
    hub.resolve_cache = True
    sha = hub.head_sha("org/ds")
    blob = hashlib.sha1(b"blob %d\0" % len(card) + card).hexdigest()

    for method in ("HEAD", "GET"):
        status, headers, body = raw(hub, method, "/datasets/org/ds/resolve/main/README.md")
        assert status == 307
        location = headers["location"]
        assert location.startswith(f"/api/resolve-cache/datasets/org/ds/{sha}/README.md?")
        assert "etag=" + urlencode({"": f'"{blob}"'})[1:] in location
        assert (headers["x-repo-commit"], headers["etag"]) == (sha, f'"{blob}"')
        assert len(body) == (0 if method == "HEAD" else int(headers["content-length"]))
    status, headers, body = raw(hub, "GET", location)
    assert (status, body, headers["x-repo-commit"], headers["etag"]) == (200, card, sha, f'"{blob}"')
    status, headers, body = raw(hub, "GET", location, {"Range": "bytes=2-4"})
    assert (status, body, headers["content-range"]) == (206, card[2:5], f"bytes 2-4/{len(card)}")
    assert raw(hub, "GET", "/datasets/org/ds/resolve/main/data/a.parquet")[0] == 200  # LFS: served directly
    assert raw(hub, "GET", f"/api/resolve-cache/datasets/org/ds/{sha}/nope.md")[0] == 404

    hub.clear_requests()
    cache = tmp_path / "hf"
    local = hf_hub_download("org/ds", "README.md", repo_type="dataset", cache_dir=cache)
    assert Path(local).read_bytes() == card
    cached = f"/api/resolve-cache/datasets/org/ds/{sha}/README.md"
    assert [(r.method, r.path, r.status) for r in hub.requests] == [
        ("HEAD", "/datasets/org/ds/resolve/main/README.md", 307),
        ("HEAD", cached, 200),
        ("GET", cached, 200),
    ]
    hub.clear_requests()
    hf_hub_download("org/ds", "README.md", repo_type="dataset", cache_dir=cache)
    assert [r.status for r in hub.requests] == [307, 200]  # warm: both HEADs, no GET
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("org/ds", "missing.md", repo_type="dataset", cache_dir=cache)
    assert HfFileSystem(skip_instance_cache=True).cat_file("datasets/org/ds/README.md") == card


def test_load_dataset_builder_works_behind_the_307(
    hub: HubSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "USE_PARQUET_EXPORT", False)

    hub.put_file("org/input", "README.md", CARD.format(rows=12345))
    hub.put_file("org/input", "data/train-00000-of-00001.parquet", parquet_bytes(10))
    hub.resolve_cache = True
    hub.clear_requests()

    builder = datasets.load_dataset_builder("org/input", cache_dir=str(tmp_path / "ds"))

    assert builder.info.splits["train"].num_examples == 12345
    sha = hub.head_sha("org/input")
    cached = f"/api/resolve-cache/datasets/org/input/{sha}/README.md"
    assert [(r.method, r.path, r.status) for r in hub.requests[:3]] == [
        ("HEAD", "/datasets/org/input/resolve/main/README.md", 307),
        ("HEAD", cached, 200),
        ("GET", cached, 200),
    ]


# -- hard limits -----------------------------------------------------------------------------------------


def test_paths_info_beyond_its_limits_is_413(hub: HubSim, api_token: HfApi) -> None:
    hub.put_file("org/ds", "README.md", "x")
    many = [f"data/f-{i:04d}.parquet" for i in range(1001)]

    found = api_token.get_paths_info("org/ds", [*many[:999], "README.md"], repo_type="dataset")
    assert [e.path for e in found] == ["README.md"]
    with pytest.raises(HfHubHTTPError) as err:
        api_token.get_paths_info("org/ds", many, repo_type="dataset")
    assert err.value.response.status_code == 413
    assert "at most 1000" in str(err.value)
    found = api_token.get_paths_info("org/ds", [*many[:49], "README.md"], repo_type="dataset", expand=True)
    assert [e.path for e in found] == ["README.md"]
    with pytest.raises(HfHubHTTPError) as err:
        api_token.get_paths_info("org/ds", many[:51], repo_type="dataset", expand=True)
    assert err.value.response.status_code == 413
    assert [r.status for r in hub.requests] == [200, 413, 200, 413]  # never retried


def test_tree_url_with_a_slash_after_the_revision_is_a_plain_404(hub: HubSim) -> None:
    hub.put_file("org/ds", "data/a.parquet", parquet_bytes(1))
    sha = hub.head_sha("org/ds")

    for path in ("/api/datasets/org/ds/tree/main/", f"/api/datasets/org/ds/tree/{sha}/?recursive=true"):
        status, headers, body = raw(hub, "GET", path)
        assert status == 404
        assert "x-error-code" not in headers
        assert body.startswith(b'{"error":')
    response = hf_http.get_session().get(f"{hub.url}/api/datasets/org/ds/tree/{sha}/?recursive=true")
    with pytest.raises(HfHubHTTPError) as err:
        hf_raise_for_status(response)
    assert not isinstance(err.value, RemoteEntryNotFoundError)
    assert raw(hub, "GET", f"/api/datasets/org/ds/tree/{sha}?recursive=true")[0] == 200
    assert raw(hub, "GET", f"/api/datasets/org/ds/tree/{sha}/data")[0] == 200


# -- reset ------------------------------------------------------------------------------------------------


def test_set_root_turns_every_mode_off(hub: HubSim, tmp_path: Path) -> None:
    hub.set_quota("api", 1, 300)
    hub.set_quota("resolvers", 1, 300)
    hub.enable_xet()
    hub.resolve_cache = True
    hub.ignore_ranges = True
    hub.bridge.inject(Fault(path_regex="never"))
    hub.bridge.url_ttl_s = 5
    hub.put_file("org/ds", "data/a.parquet", parquet_bytes(3))
    raw(hub, "GET", "/datasets/org/ds/resolve/main/data/a.parquet")
    assert hub.quota_windows("resolvers") == 1

    hub.set_root(tmp_path / "fresh")

    assert not hub.xet and not hub.resolve_cache and not hub.ignore_ranges
    assert hub.quota.policy("api") is None and hub.quota.policy("resolvers") is None
    assert hub.quota_windows("resolvers") == 0
    assert hub.bridge.requests == [] and hub.bridge.faults.pending() == []
    assert hub.bridge.url_ttl_s == 3600
    hub.put_file("org/ds", "data/a.parquet", parquet_bytes(3))
    hub.put_file("org/ds", "README.md", "x")
    for _ in range(3):
        status, headers, _ = raw(
            hub, "GET", "/datasets/org/ds/resolve/main/data/a.parquet", {"Range": "bytes=0-3"}
        )
        assert (status, "ratelimit" in headers) == (206, False)
    assert raw(hub, "GET", "/datasets/org/ds/resolve/main/README.md")[0] == 200
    assert hub.throttled() == 0
