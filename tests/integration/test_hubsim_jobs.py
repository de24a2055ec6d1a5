"""The simulator's Hugging Face Jobs, through the real ``huggingface_hub`` client (``HfApi``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import huggingface_hub.utils._http as hf_http
import pytest
from huggingface_hub import HfApi, JobStage
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, JobNotFoundError

from tests.hubsim import Accelerator, Fault, Flavor, HubSim

TOKEN = "hf_sim_jobs_token"
NS = "acme"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)


@pytest.fixture
def api(hub: HubSim) -> HfApi:
    return HfApi(endpoint=hub.url, token=TOKEN)


@pytest.fixture
def clock(hub: HubSim) -> list[float]:
    """The Jobs clock, frozen at T0; move it with ``clock[0] += seconds``."""
    now = [T0.timestamp()]
    hub.jobs.clock = lambda: now[0]
    return now


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the client's retry back-off instant; returns the sleeps it asked for."""
    sleeps: list[float] = []
    monkeypatch.setattr(hf_http.time, "sleep", sleeps.append)
    return sleeps


def datatrove_labels(name: str, index: int) -> dict[str, str]:
    return {"datatrove_job_name": name, "datatrove_array_index": str(index)}


def job_requests(hub: HubSim) -> list[str]:
    return [f"{r.path}?{r.query}" if r.query else r.path for r in hub.requests if r.path.startswith("/api/")]


# -- listing ----------------------------------------------------------------------------------------------


def test_list_by_datatrove_labels_across_pages(hub: HubSim, api: HfApi, clock: list[float]) -> None:
    hub.jobs_page_size = 3
    ids = {}
    for i in range(8):
        ids[i] = hub.add_job(NS, labels=datatrove_labels("gen", i), created_at=T0 + timedelta(seconds=i))
    hub.add_job(NS, labels=datatrove_labels("other", 0))
    hub.add_job(NS, labels={"datatrove_job_name": "gen"})  # no array index: not one of ours below
    hub.add_job("someone-else", labels=datatrove_labels("gen", 0))

    jobs = list(api.list_jobs(namespace=NS, labels={"datatrove_job_name": "gen"}))

    assert len(jobs) == 9
    indexed = [j for j in jobs if j.labels and "datatrove_array_index" in j.labels]
    assert [j.id for j in indexed] == [ids[i] for i in reversed(range(8))]  # newest first
    assert all(HEX24.match(j.id) for j in jobs)
    assert all(j.owner.name == NS and j.owner.type == "org" for j in jobs)
    pages = [r for r in job_requests(hub) if r.startswith(f"/api/jobs/{NS}")]
    assert len(pages) == 3  # 9 Jobs, 3 per page
    assert pages[0] == f"/api/jobs/{NS}?label=datatrove_job_name%3Dgen"
    assert all("cursor=" in p and "label=datatrove_job_name%3Dgen" in p for p in pages[1:])

    one = list(api.list_jobs(namespace=NS, labels=datatrove_labels("gen", 3)))
    assert [j.id for j in one] == [ids[3]]
    assert one[0].labels == datatrove_labels("gen", 3)
    assert list(api.list_jobs(namespace=NS, labels=datatrove_labels("gen", 99))) == []


def test_jobs_added_between_pages_neither_repeat_nor_shift(
    hub: HubSim, api: HfApi, clock: list[float]
) -> None:
    hub.jobs_page_size = 2
    for i in range(4):  # all created at T0 (the frozen clock): the later added is listed first
        hub.add_job(NS, labels=datatrove_labels("gen", i))

    pages = iter(api.list_jobs(namespace=NS))
    first = [next(pages), next(pages)]
    hub.add_job(NS, labels=datatrove_labels("gen", 4), created_at=T0 + timedelta(seconds=10))  # a relaunch
    rest = list(pages)

    assert [j.labels["datatrove_array_index"] for j in first + rest if j.labels] == ["3", "2", "1", "0"]


def test_stage_filters_are_ored(hub: HubSim, api: HfApi) -> None:
    by_stage = {
        stage: hub.add_job(NS, labels=datatrove_labels("gen", i), stage=stage)
        for i, stage in enumerate(["SCHEDULING", "RUNNING", "COMPLETED", "ERROR", "CANCELED", "DELETED"])
    }

    def listed(status: str | JobStage | list[str | JobStage]) -> set[str]:
        return {j.id for j in api.list_jobs(namespace=NS, status=status)}

    assert listed("RUNNING") == {by_stage["RUNNING"]}
    assert listed(JobStage.SCHEDULING) == {by_stage["SCHEDULING"]}
    assert listed(["COMPLETED", JobStage.ERROR]) == {by_stage["COMPLETED"], by_stage["ERROR"]}
    assert listed(["error"]) == {by_stage["ERROR"]}  # the client upper-cases
    assert {j.status.stage for j in api.list_jobs(namespace=NS)} == set(by_stage)
    both = api.list_jobs(namespace=NS, status="RUNNING", labels=datatrove_labels("gen", 0))
    assert list(both) == []  # the RUNNING Job is index 1: filters are ANDed with labels
    assert "stage=COMPLETED&stage=ERROR" in job_requests(hub)[2]
    with pytest.raises(BadRequestError):
        list(api.list_jobs(namespace=NS, status="FINISHED"))


# -- one Job ------------------------------------------------------------------------------------------------


def test_a_job_moving_through_its_stages(hub: HubSim, api: HfApi, clock: list[float]) -> None:
    job_id = hub.add_job(NS, labels=datatrove_labels("gen", 0), flavor="a10g-large", message="Queued")

    info = api.inspect_job(job_id=job_id, namespace=NS)
    assert (info.id, info.flavor, info.labels) == (job_id, "a10g-large", datatrove_labels("gen", 0))
    assert (info.status.stage, info.status.message) == ("SCHEDULING", "Queued")
    assert (info.created_at, info.started_at, info.finished_at) == (T0, None, None)
    assert info.durations is not None
    assert (info.durations.scheduling_secs, info.durations.running_secs) == (None, None)
    assert info.url == f"{hub.url}/jobs/{NS}/{job_id}"
    assert int(job_id[:8], 16) == int(T0.timestamp())  # ObjectId-like: creation seconds first

    clock[0] += 30
    hub.set_job(NS, job_id, stage="RUNNING")
    clock[0] += 100
    info = api.inspect_job(job_id=job_id, namespace=NS)
    assert (info.status.stage, info.status.message) == ("RUNNING", None)  # a stage change clears the message
    assert (info.started_at, info.finished_at) == (T0 + timedelta(seconds=30), None)
    assert info.durations is not None
    assert (info.durations.scheduling_secs, info.durations.running_secs, info.durations.total_secs) == (
        30,
        100,
        130,
    )

    clock[0] += 20  # running_secs is recomputed on each request while the Job runs
    durations = api.inspect_job(job_id=job_id, namespace=NS).durations
    assert durations is not None and durations.running_secs == 120

    hub.set_job(NS, job_id, stage="ERROR", message="Job failed with exit code: 1")
    clock[0] += 1000
    info = api.inspect_job(job_id=job_id, namespace=NS)
    assert (info.status.stage, info.status.message) == ("ERROR", "Job failed with exit code: 1")
    assert info.finished_at == T0 + timedelta(seconds=150)
    assert info.durations is not None
    assert (info.durations.running_secs, info.durations.total_secs) == (120, 150)  # frozen once finished


def test_explicit_times_and_running_secs(hub: HubSim, api: HfApi) -> None:
    started, finished = T0 + timedelta(minutes=2), T0 + timedelta(hours=1, minutes=2)
    job_id = hub.add_job(
        NS,
        labels=datatrove_labels("gen", 0),
        stage="COMPLETED",
        created_at=T0,
        started_at=started,
        finished_at=finished,
    )
    info = api.inspect_job(job_id=job_id, namespace=NS)
    assert (info.status.stage, info.started_at, info.finished_at) == ("COMPLETED", started, finished)
    assert info.durations is not None
    assert (info.durations.scheduling_secs, info.durations.running_secs, info.durations.total_secs) == (
        120,
        3600,
        3720,
    )

    hub.set_job(NS, job_id, running_secs=3000)  # frozen as given, whatever the times say
    durations = api.inspect_job(job_id=job_id, namespace=NS).durations
    assert durations is not None and durations.running_secs == 3000
    canceled = hub.add_job(NS, labels=datatrove_labels("gen", 1), stage="CANCELED", created_at=T0)
    info = api.inspect_job(job_id=canceled, namespace=NS)
    assert info.started_at is None and info.finished_at is not None  # canceled while scheduling
    assert info.durations is not None and info.durations.running_secs is None


def test_unknown_job_id_is_job_not_found(hub: HubSim, api: HfApi) -> None:
    theirs = hub.add_job("other-org", labels={})
    hub.add_job(NS, labels={})

    with pytest.raises(JobNotFoundError) as err:
        api.inspect_job(job_id="0" * 24, namespace=NS)
    assert err.value.job_id == "0" * 24
    assert err.value.response.status_code == 404
    with pytest.raises(JobNotFoundError):  # a Job of another namespace
        api.inspect_job(job_id=theirs, namespace=NS)
    with pytest.raises(JobNotFoundError):
        list(api.fetch_job_logs(job_id="0" * 24, namespace=NS))


# -- logs ---------------------------------------------------------------------------------------------------


def test_fetch_job_logs_tail_and_follow(hub: HubSim, api: HfApi) -> None:
    lines = [f"step {i}: 12 docs/s" for i in range(50)]
    job_id = hub.add_job(NS, labels=datatrove_labels("gen", 0), stage="RUNNING")
    five_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    hub.job_logs(NS, job_id, ["===== Job started at 2026-03-01 12:00:00 ====="], at=five_minutes_ago)
    hub.job_logs(NS, job_id, lines, at=five_minutes_ago)
    hub.job_logs(NS, job_id, 'a "quoted" line\twith a tab')  # dated now

    last = list(api.fetch_job_logs(job_id=job_id, namespace=NS, follow=False, tail=20))
    assert last == [*lines[-19:], 'a "quoted" line\twith a tab']
    everything = list(api.fetch_job_logs(job_id=job_id, namespace=NS))
    assert everything == [*lines, 'a "quoted" line\twith a tab']  # the client drops the banner itself
    assert [r for r in job_requests(hub) if "/logs" in r] == [
        f"/api/jobs/{NS}/{job_id}/logs?tail=20",
        f"/api/jobs/{NS}/{job_id}/logs",
    ]

    hub.set_job(NS, job_id, stage="COMPLETED")
    hub.clear_requests()
    followed = list(api.fetch_job_logs(job_id=job_id, namespace=NS, follow=True, tail=3))
    assert followed == [*lines[-2:], 'a "quoted" line\twith a tab']
    assert job_requests(hub) == [f"/api/jobs/{NS}/{job_id}/logs?tail=3", f"/api/jobs/{NS}/{job_id}"]
    assert list(api.fetch_job_logs(job_id=hub.add_job(NS, labels={}), namespace=NS)) == []


# -- hardware, whoami, access --------------------------------------------------------------------------------


def test_hardware_with_prices(hub: HubSim, api: HfApi) -> None:
    hardware = {h.name: h for h in api.list_jobs_hardware()}

    assert {"cpu-basic", "t4-small", "a10g-small", "a100-large"} <= set(hardware)
    a100 = hardware["a100-large"]
    assert (a100.unit_cost_micro_usd, a100.unit_cost_usd, a100.unit_label) == (41_667, 0.041667, "minute")
    assert a100.accelerator is not None and a100.accelerator.model == "A100"
    assert hardware["cpu-basic"].unit_cost_micro_usd == 167 and hardware["cpu-basic"].accelerator is None

    hub.set_hardware([Flavor("x1", "X One", "1 vCPU", "1 GB", 1_000_000, Accelerator("X", "1", "1 GB"))])
    (only,) = HfApi(endpoint=hub.url, token=False).list_jobs_hardware()  # no token needed
    assert (only.name, only.pretty_name, only.unit_cost_usd) == ("x1", "X One", 1.0)
    assert only.accelerator is not None and only.accelerator.manufacturer == "Nvidia"


def test_list_jobs_without_namespace_asks_whoami(hub: HubSim, api: HfApi) -> None:
    hub.set_user("acme-bot", orgs=["acme"])
    mine = hub.add_job("acme-bot", labels=datatrove_labels("gen", 0))
    hub.add_job(NS, labels=datatrove_labels("gen", 0))

    assert api.whoami()["name"] == "acme-bot"
    # list_jobs asks the module-level whoami, which reads no HfApi(token=...): pass the token
    jobs = list(api.list_jobs(token=TOKEN))

    assert [j.id for j in jobs] == [mine]
    assert jobs[0].owner.type == "user"
    assert job_requests(hub)[-2:] == ["/api/whoami-v2", "/api/jobs/acme-bot"]
    assert api.inspect_job(job_id=mine).id == mine  # the same through HfApi.whoami
    hub.set_user("second-bot", token="hf_other")
    assert HfApi(endpoint=hub.url, token="hf_other").whoami()["name"] == "second-bot"
    assert api.whoami()["name"] == "acme-bot"
    assert list(api.list_jobs(namespace="acme")) != []  # an org of the user, and it has Jobs


def test_denied_or_unknown_namespace_is_a_clear_http_error(hub: HubSim, api: HfApi) -> None:
    job_id = hub.add_job(NS, labels={})
    hub.deny_namespace(NS)

    with pytest.raises(HfHubHTTPError) as err:
        list(api.list_jobs(namespace=NS))
    assert err.value.response.status_code == 403
    assert "403 Forbidden" in str(err.value) and NS in str(err.value)
    with pytest.raises(HfHubHTTPError) as err:
        api.inspect_job(job_id=job_id, namespace=NS)
    assert err.value.response.status_code == 403 and not isinstance(err.value, JobNotFoundError)
    with pytest.raises(HfHubHTTPError) as err:
        list(api.list_jobs(namespace="nobody-knows"))  # no Jobs, not the user's, not its org
    assert err.value.response.status_code == 403

    hub.allow_namespace(NS)
    hub.require_token(NS, "hf_acme_only")  # an org token rule: another token has no access
    with pytest.raises(HfHubHTTPError) as err:
        api.inspect_job(job_id=job_id, namespace=NS)
    assert err.value.response.status_code == 403
    assert api.inspect_job(job_id=job_id, namespace=NS, token="hf_acme_only").id == job_id

    with pytest.raises(HfHubHTTPError) as err:  # no token at all
        HfApi(endpoint=hub.url, token=False).inspect_job(job_id=job_id, namespace=NS)
    assert err.value.response.status_code == 401
    assert not isinstance(err.value, JobNotFoundError)


def test_running_jobs_is_not_simulated(hub: HubSim, api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as err:
        api.run_job(image="python:3.12", command=["true"], namespace=NS)
    assert err.value.response.status_code == 501
    assert "add_job" in str(err.value)


# -- quota, faults, reset ------------------------------------------------------------------------------------


def test_quota_counts_jobs_requests(hub: HubSim, api: HfApi) -> None:
    hub.set_user(NS)
    job_id = hub.add_job(NS, labels=datatrove_labels("gen", 0), logs=["hello"])
    hub.set_quota("api", 4, 300)

    list(api.list_jobs(token=TOKEN))  # whoami + listing
    api.inspect_job(job_id=job_id, namespace=NS)
    assert list(api.fetch_job_logs(job_id=job_id, namespace=NS)) == ["hello"]
    with pytest.raises(HfHubHTTPError) as err:  # inspect_job is not retried: the 429 surfaces
        api.inspect_job(job_id=job_id, namespace=NS)

    assert err.value.response.status_code == 429
    assert hub.throttled("api") == 1 and hub.quota_windows("api", TOKEN) == 1
    assert [(r.path, r.bucket, r.throttled) for r in hub.requests] == [
        ("/api/whoami-v2", "api", False),
        (f"/api/jobs/{NS}", "api", False),
        (f"/api/jobs/{NS}/{job_id}", "api", False),
        (f"/api/jobs/{NS}/{job_id}/logs", "api", False),
        (f"/api/jobs/{NS}/{job_id}", "api", True),
    ]


def test_faults_hit_jobs_requests(hub: HubSim, api: HfApi, no_sleep: list[float]) -> None:
    job_id = hub.add_job(NS, labels={})
    hub.inject(Fault(method="GET", path_regex=rf"^/api/jobs/{NS}$", status=503, times=2))
    hub.inject(Fault(path_regex=r"/logs$", status=500))

    assert [j.id for j in api.list_jobs(namespace=NS)] == [job_id]  # the listing is retried
    assert no_sleep == [1, 2]
    with pytest.raises(HfHubHTTPError) as err:
        list(api.fetch_job_logs(job_id=job_id, namespace=NS))
    assert err.value.response.status_code == 500
    assert [r.status for r in hub.requests] == [503, 503, 200, 500]


def test_set_root_forgets_jobs_users_and_rules(hub: HubSim, api: HfApi, tmp_path: Path) -> None:
    job_id = hub.add_job(NS, labels={})
    hub.set_user("acme-bot")
    hub.deny_namespace("x")
    hub.jobs_page_size = 1
    hub.set_hardware([])

    hub.set_root(tmp_path / "fresh")

    with pytest.raises(KeyError):
        hub.job(NS, job_id)
    assert api.whoami()["name"] == "hubsim-user"
    assert hub.jobs_page_size == 1000 and not hub.jobs.is_denied("x")
    assert len(api.list_jobs_hardware()) >= 4
