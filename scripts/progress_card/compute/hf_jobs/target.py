"""Which Hugging Face Jobs run a job, as jobs.yaml says (`hf_jobs:`)."""

from __future__ import annotations

from dataclasses import dataclass

from ...schema import pattern

NAME_LABEL = "datatrove_job_name"
INDEX_LABEL = "datatrove_array_index"
"""The labels datatrove's JobsPipelineExecutor puts on each Job it launches."""


@dataclass(frozen=True)
class HfJobs:
    """The Jobs of a job: those datatrove labelled with its `job_name`, or given ids; in a namespace
    (None: the token's user)."""

    name: str | None = None
    ids: tuple[str, ...] = ()
    namespace: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (not self.ids):
            raise ValueError("hf_jobs needs name (datatrove's job_name) or ids, not both")

    def describe(self, namespace: str) -> str:
        """How messages name them: `the Jobs labelled datatrove_job_name=gen in acme`."""
        if self.name is not None:
            return f"the Jobs labelled {NAME_LABEL}={self.name} in {namespace}"
        jobs = "Job" if len(self.ids) == 1 else "Jobs"
        return f"Hugging Face {jobs} {', '.join(self.ids)} in {namespace}"

    @property
    def plural(self) -> bool:
        """`describe` names several Jobs."""
        return self.name is not None or len(self.ids) > 1

    @property
    def launch(self) -> tuple[str, ...]:
        """What names the current launch: the ids given (a new list after a relaunch), or the label."""
        return self.ids or (f"{NAME_LABEL}={self.name}",)


def valid_hf_job_id(job_id: str) -> bool:
    """A Hugging Face Job id as jobs.yaml's schema takes it."""
    return bool(pattern("hf_jobs", "ids").fullmatch(job_id))
