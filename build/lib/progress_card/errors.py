"""Every error type of the tool, in one place. Each message says what went wrong, for which job or
file, and what to do about it; none of them is ever turned into a silent zero.
"""

from __future__ import annotations

from collections.abc import Sequence


class JobError(Exception):
    """A problem that fails one job. The message says what went wrong and what to do about it."""


class RepoNotFound(JobError):
    """The output repo does not exist (yet), or the token cannot see it."""


class CardConflict(Exception):
    """The branch moved since the card was read; read it again and re-apply the change."""


class ManifestError(Exception):
    """jobs.yaml cannot be used as it is; `problems` holds one located message each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


class MarkingError(Exception):
    """jobs.yaml cannot take the edit: the job is not there, or the result would not be a valid manifest."""


class QuotaSpent(Exception):
    """Waiting for the Hub's rate-limit window would overrun this run's budget for such waits."""


class StillCounting(QuotaSpent):
    """The count could not finish within this run's wait for rate limits; what was read is saved."""


class Stopped(Exception):
    """The run was asked to stop (SIGTERM) while this work was under way."""


class Retryable(Exception):
    """A failure worth another attempt; `retry_after` is the wait the server asked for."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Exception):
    """The Hub refused the request for a rate limit: send it again once the window allows."""


class FooterError(ValueError):
    """The bytes are not the end of a readable parquet file."""


class NeedMoreBytes(Exception):
    """The footer is longer than the bytes read; read `length` bytes from the end instead."""

    def __init__(self, length: int) -> None:
        super().__init__(f"footer needs the last {length} bytes")
        self.length = length


class StatsFormatError(ValueError):
    """stats.json exists but is not JSON (it may still be being written)."""


class SshConfigError(ValueError):
    """The SSH settings cannot be used as given (a missing key variable, a bad host name...)."""


class TellingError(Exception):
    """An incident issue or a notification could not be made; the cards are not affected."""
