"""progress-card: keep a dataset card's progress bar up to date while a job uploads shards."""

__version__ = "0.1.0"
