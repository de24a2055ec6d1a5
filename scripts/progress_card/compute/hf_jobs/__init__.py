"""Hugging Face Jobs: the Jobs datatrove's JobsPipelineExecutor launched for a job (found by its
labels, or by id), what they say of it, what they cost, and the logs of those that failed."""

from .client import HubCalls, JobsClient
from .follow import JobsFollower
from .rule import JobRecord, Prices, jobs_state
from .target import INDEX_LABEL, NAME_LABEL, HfJobs, valid_hf_job_id

__all__ = [
    "INDEX_LABEL",
    "NAME_LABEL",
    "HfJobs",
    "HubCalls",
    "JobRecord",
    "JobsClient",
    "JobsFollower",
    "Prices",
    "jobs_state",
    "valid_hf_job_id",
]
