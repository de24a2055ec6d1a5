from datetime import datetime, timedelta, timezone

from progress_card.estimate import simple_eta

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_average_rate_since_the_first_upload_is_projected_over_what_remains() -> None:
    eta = simple_eta(done=1_000, total=3_000, first_upload=NOW - timedelta(hours=2), now=NOW)
    assert eta is not None
    assert eta.remaining == timedelta(hours=4)
    assert eta.finish_at == NOW + timedelta(hours=4)


def test_no_estimate_without_documents_time_or_work_left() -> None:
    start = NOW - timedelta(hours=1)
    assert simple_eta(0, 100, start, NOW) is None
    assert simple_eta(10, 100, None, NOW) is None
    assert simple_eta(10, 100, NOW, NOW) is None
    assert simple_eta(100, 100, start, NOW) is None
