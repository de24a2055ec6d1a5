from pathlib import Path
from textwrap import dedent

import pytest

from progress_card.compute import LOCAL, HfJobs, SshSettings
from progress_card.errors import ManifestError
from progress_card.manifest import Finished, InputDataset, load_manifest
from progress_card.storage import HubBucket, HubDataset, LocalDataset, Output


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return [problem.replace(f"{path}", "jobs.yaml") for problem in caught.value.problems]


def test_defaults_apply_to_every_job_and_jobs_override_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults:
          repo: acme/gen
          input: {dataset: org/prompts, split: train}
          max_examples: 1000
        jobs:
          - name: math
            config: math
            input: {split: test}
          - name: local
            output: ./out
            total: 5
        """,
    )
    math, local = load_manifest(path).jobs
    assert (math.repo, math.output, math.card_home) == (HubDataset("acme/gen"), None, HubDataset("acme/gen"))
    assert math.config == "math"
    assert math.input == InputDataset(HubDataset("org/prompts"), split="test")
    assert math.max_examples == 1000
    assert (local.repo, local.output) == (None, Output(LocalDataset(tmp_path / "out"), ""))
    assert local.card_home is None  # a folder of shards has no card, unless repo: names one
    assert local.total == 5


def test_an_output_is_the_writers_folder_in_a_repo_a_bucket_or_on_disk(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        jobs:
          - {{name: a, output: "hf://datasets/acme/gen/default/", total: 1}}
          - {{name: b, output: "hf://buckets/acme/raw/v1/math", total: 1, repo: acme/gen, config: math}}
          - {{name: c, output: "file://{tmp_path}/x", total: 1}}
          - {{name: d, output: "../y", total: 1, input: {{dataset: ./prompts}}}}
          - {{name: e, repo: ./dataset, total: 1}}
        """,
    )
    a, b, c, d, e = load_manifest(path).jobs
    assert (a.output, a.card_home) == (Output(HubDataset("acme/gen"), "default"), HubDataset("acme/gen"))
    assert a.output is not None and a.output.pattern == "default/**/*.parquet"
    assert (b.output, b.card_home) == (Output(HubBucket("acme/raw"), "v1/math"), HubDataset("acme/gen"))
    assert str(b.output) == "hf://buckets/acme/raw/v1/math"
    assert (c.output, c.card_home) == (Output(LocalDataset(tmp_path / "x"), ""), None)
    assert d.output == Output(LocalDataset(tmp_path.parent / "y"), "")
    assert d.input == InputDataset(LocalDataset(tmp_path / "prompts"))
    assert (e.repo, e.output) == (LocalDataset(tmp_path / "dataset"), None)


def test_an_output_naming_a_whole_dataset_is_that_dataset_as_repo_says_it(tmp_path: Path) -> None:
    path = write(tmp_path, 'jobs: [{name: a, output: "hf://datasets/acme/gen", total: 1}]\n')
    [job] = load_manifest(path).jobs
    assert (job.repo, job.output) == (HubDataset("acme/gen"), None)


def test_slurm_ids_stats_paths_and_ssh_settings_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults:
          ssh: {host: login.cluster.example, user: gen, known_hosts: keys/known_hosts}
        jobs:
          - {name: a, repo: acme/gen, total: 1, slurm_job_id: 12345, stats_path: /scratch/logs/stats.json}
          - name: b
            repo: acme/gen
            config: b
            total: 1
            slurm_job_id: "678"
            stats_path: "s3://bucket/stats.json"
            ssh: {port: 2222, key_env: CLUSTER_KEY, proxy_jump: bastion@gate.example:2200}
        """,
    )
    a, b = load_manifest(path).jobs
    assert (a.slurm_job_ids, a.stats_path) == (("12345",), "/scratch/logs/stats.json")
    assert (b.slurm_job_ids, b.stats_path) == (("678",), "s3://bucket/stats.json")
    assert a.login == SshSettings(
        host="login.cluster.example", user="gen", known_hosts=tmp_path / "keys" / "known_hosts"
    )
    assert b.login == SshSettings(
        host="login.cluster.example",
        user="gen",
        port=2222,
        known_hosts=tmp_path / "keys" / "known_hosts",
        key_env="CLUSTER_KEY",
        proxy_jump="bastion@gate.example:2200",
    )


def test_a_job_on_the_login_node_says_ssh_local_and_several_arrays_are_a_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults:
          ssh: {host: login.cluster.example}
        jobs:
          - {name: a, repo: acme/gen, total: 1, slurm_job_id: [123, "124"], ssh: local}
          - {name: b, repo: acme/gen, config: b, total: 1, logging_dir: /scratch/logs, ssh: local}
        """,
    )
    a, b = load_manifest(path).jobs
    assert (a.slurm_job_ids, a.login, b.login) == (("123", "124"), LOCAL, LOCAL)
    bad = write(
        tmp_path,
        """
        jobs:
          - {name: a, repo: acme/gen, total: 1, slurm_job_id: [], ssh: local}
          - {name: b, repo: acme/gen, config: b, total: 1, slurm_job_id: [1, "x2"], ssh: local}
          - {name: c, repo: acme/gen, config: c, total: 1, slurm_job_id: 1, ssh: remote}
        """,
    )
    assert problems(bad) == [
        'jobs.yaml:2: job "a": slurm_job_id must be a list of Slurm job ids, each made of digits, got a list',
        'jobs.yaml:3: job "b": slurm_job_id.1 must be a Slurm job id made of digits (for an array, its base id), '
        'got "x2"',
        'jobs.yaml:4: job "c": ssh must be local (this machine is the login node) or a mapping with host, user, '
        "port, ...",
    ]


def test_asking_the_cluster_needs_ssh_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - {name: a, repo: acme/gen, total: 1, slurm_job_id: 5}
          - {name: b, repo: acme/gen, config: b, total: 1, stats_path: /scratch/stats.json}
          - {name: c, repo: acme/gen, total: 1, stats_path: "hf://datasets/acme/logs/stats.json"}
          - {name: d, repo: acme/gen, config: d, total: 1, slurm_job_id: 5, ssh: {user: x}}
          - {name: e, repo: acme/gen, config: e, total: 1, ssh: {host: "-oProxyCommand=evil"}}
        """,
    )
    assert problems(path) == [
        'jobs.yaml:6: job "e": ssh.host must be a host name or an IP address, got "-oProxyCommand=evil"',
    ]
    path = write(tmp_path, path.read_text().replace('{host: "-oProxyCommand=evil"}', "{host: ok}"))
    assert problems(path) == [
        'jobs.yaml:2: job "a": needs ssh settings (ssh: {host: ...}, or ssh: local on the login node) to ask the cluster about its slurm_job_id, stats_path or logging_dir',
        'jobs.yaml:3: job "b": needs ssh settings (ssh: {host: ...}, or ssh: local on the login node) to ask the cluster about its slurm_job_id, stats_path or logging_dir',
        'jobs.yaml:5: job "d": ssh needs a host',
    ]


def test_finished_jobs_are_read_and_their_keys_go_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults: {repo: acme/gen, total: 10}
        jobs:
          - {name: a, finished: true, outcome: completed, finished_at: "2026-11-21T12:00:00Z", final_count: 10}
          - {name: b}
        """,
    )
    a, b = load_manifest(path).jobs
    assert a.finished == Finished("completed", "2026-11-21T12:00:00Z", 10)
    assert b.finished is None
    path = write(tmp_path, "jobs:\n  - {name: a, repo: acme/gen, total: 3, outcome: stopped}\n")
    assert problems(path) == [
        'jobs.yaml:2: job "a": outcome, finished_at and final_count come with finished: true; '
        "to follow the job again, remove all four"
    ]


def test_a_bad_value_names_file_line_job_key_and_expectation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - name: math
            repo: acme/gen
            total: "5k"
        """,
    )
    assert problems(path) == ['jobs.yaml:4: job "math": total must be a positive integer, got "5k"']


def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        jobs:
          - name: math
            repo: acme/gen
            totl: 5
        """,
    )
    [problem] = problems(path)
    assert problem.startswith('jobs.yaml:4: job "math": unknown key "totl" (did you mean "total"?)')


def test_duplicate_names_are_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults: {repo: acme/gen, total: 3}
        jobs:
          - name: math
          - {name: code, config: code}
          - {name: math, config: other}
        """,
    )
    assert problems(path) == [
        'jobs.yaml:5: job "math": duplicate name (also on line 3); names must be unique'
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        defaults:
          max_examples: 0
        jobs:
          - name: math
            repo: nope
            slurm_job_id: "12a"
          - name: bad name
            repo: acme/gen
            stats_path: relative/stats.json
        """,
    )
    assert problems(path) == [
        "jobs.yaml:2: defaults: max_examples must be -1 (all) or a positive integer, got 0",
        'jobs.yaml:5: job "math": repo must be a dataset id such as org/name, or a local folder starting with ., / or ~, got "nope"',
        'jobs.yaml:6: job "math": slurm_job_id must be a Slurm job id made of digits (for an array, its base id), '
        'got "12a"',
        "jobs.yaml:7: job \"bad name\": name must be a name of at most 96 letters, digits, '.', '_' and '-', "
        "not starting with '.', got \"bad name\"",
        'jobs.yaml:9: job "bad name": stats_path must be an absolute path on the cluster or a URL such as '
        'hf://, s3://, file://, got "relative/stats.json"',
    ]


def test_a_job_needs_a_repo_or_an_output(tmp_path: Path) -> None:
    path = write(tmp_path, "jobs:\n  - name: nowhere\n    total: 3\n")
    assert problems(path) == [
        'jobs.yaml:2: job "nowhere": needs repo (the dataset whose card shows its progress) or output '
        "(the folder its writer writes shards to)"
    ]


def test_a_job_output_replaces_the_default_repo(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {repo: acme/gen}\njobs:\n  - {name: a, output: ./x, total: 1}\n")
    [job] = load_manifest(path).jobs
    assert (job.repo, job.output) == (None, Output(LocalDataset(tmp_path / "x"), ""))


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (
            "s3://bucket/x",
            'must be hf://datasets/..., hf://buckets/..., a folder or a file:// URL, got "s3://bucket/x"',
        ),
        ("hf://buckets/acme", 'must be hf://buckets/<namespace>/<name>[/<folder>], got "hf://buckets/acme"'),
        (
            "hf://buckets/acme/raw/../x",
            'must be hf://buckets/<namespace>/<name>[/<folder>], got "hf://buckets/acme/raw/../x"',
        ),
    ],
)
def test_unsupported_outputs_are_errors(tmp_path: Path, output: str, problem: str) -> None:
    path = write(tmp_path, f"jobs:\n  - name: a\n    output: {output}\n    total: 1\n")
    assert problems(path) == [f'jobs.yaml:3: job "a": output {problem}']


def test_defaults_cannot_name_a_job(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {name: x}\njobs: []\n")
    assert problems(path) == ["jobs.yaml:1: defaults: defaults cannot set name: every job needs its own"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "jobs:\n  - name: a\n    total: [3\n",
            "jobs.yaml:4: not valid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence on line 3)",
        ),
        (
            "jobs:\n  - name: a\n    name: b\n",
            'jobs.yaml:3: not valid YAML: found duplicate key "name" with value "b" (original value: "a") '
            "(while constructing a mapping on line 2)",
        ),
        (
            "- just\n- a list\n",
            "jobs.yaml:1: expected a mapping with a 'jobs' list (see the example jobs.yaml)",
        ),
        ("jobs: 3\n", "jobs.yaml:1: jobs must be a list of jobs, got 3"),
        ("job: []\n", 'jobs.yaml:1: unknown key "job" (did you mean "jobs"?) (known keys: defaults, jobs)'),
    ],
)
def test_malformed_documents_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(write(tmp_path, text))[0] == expected


def test_select_rejects_unknown_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults: {repo: acme/gen, total: 1}\njobs:\n  - {name: math, config: math}\n  - {name: code, config: code}\n",
    )
    manifest = load_manifest(path)
    assert [job.name for job in manifest.select(["code"])] == ["code"]
    with pytest.raises(ManifestError) as caught:
        manifest.select(["maths"])
    assert caught.value.problems == (f'{path}: no job named "maths" (did you mean "math"?)',)


def test_the_repository_example_is_valid() -> None:
    root = Path(__file__).parents[2]
    for example in (root / "jobs.yaml", root / "examples" / "demo" / "jobs.yaml"):
        assert load_manifest(example).jobs


def test_a_job_on_hugging_face_jobs_names_its_jobs_and_keeps_its_logging_folder_remote(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        defaults: {repo: acme/gen, total: 10, hf_jobs: {namespace: acme}}
        jobs:
          - {name: a, hf_jobs: {name: gen}, logging_dir: "hf://buckets/acme/logs/gen"}
          - {name: b, config: b, hf_jobs: {ids: ["68780d00bbe36d38803f645f"], namespace: team}}
        """,
    )
    a, b = load_manifest(path).jobs
    assert (a.hf_jobs, b.hf_jobs) == (
        HfJobs(name="gen", namespace="acme"),
        HfJobs(ids=("68780d00bbe36d38803f645f",), namespace="team"),
    )
    assert a.launch == ("datatrove_job_name=gen",) and b.launch == ("68780d00bbe36d38803f645f",)
    path = write(
        tmp_path,
        """
        defaults: {repo: acme/gen}
        jobs:
          - {name: a, hf_jobs: {name: gen, ids: ["68780d00bbe36d38803f645f"]}}
          - {name: b, hf_jobs: {namespace: acme}}
          - {name: c, hf_jobs: {name: gen}, slurm_job_id: 5, ssh: local}
          - {name: d, hf_jobs: {name: gen}, logging_dir: /scratch/logs/gen, ssh: local}
        """,
    )
    assert problems(path) == [
        "jobs.yaml:3: job \"a\": hf_jobs needs name (datatrove's job_name) or ids (the Jobs' ids), one of them",
        "jobs.yaml:4: job \"b\": hf_jobs needs name (datatrove's job_name) or ids (the Jobs' ids), one of them",
        'jobs.yaml:5: job "c": a job runs on Slurm (slurm_job_id) or on Hugging Face Jobs (hf_jobs), not both',
        'jobs.yaml:6: job "d": a job on Hugging Face Jobs has its logging folder on the Hub or in a cloud bucket '
        "(hf://..., s3://...), as datatrove requires, not on a cluster",
    ]
    path = write(tmp_path, "jobs: [{name: e, repo: acme/gen, hf_jobs: {ids: [68780000000000000000e123]}}]")
    assert problems(path) == [
        'jobs.yaml:1: job "e": hf_jobs.ids.0 must be a Job id in quotes (24 hexadecimal digits, as `hf jobs ps` '
        "shows it; unquoted, YAML may read one as a number), got 6.878e+142",
    ]
