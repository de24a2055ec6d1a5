import json
from datetime import datetime, timedelta, timezone

from progress_card.actions import output_file_text, outputs, step_summary, workflow_commands
from progress_card.model import Eta, Outcome, Pending, TaskProgress, Verdict
from progress_card.report import JobReport, Report, Status
from tests.support import progress_of

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
REPORT = Report(
    (
        JobReport(
            "done",
            Status.PUSHED,
            progress_of(900, 1000, verdict=Verdict(Outcome.COMPLETED, "stats.json found")),
            marked=True,
        ),
        JobReport(
            "math",
            Status.PUSHED,
            progress_of(
                3120,
                5000,
                eta=Eta(timedelta(hours=2, minutes=15), NOW + timedelta(hours=2, minutes=15)),
                verdict=Verdict(tasks=TaskProgress(37, 100)),
            ),
        ),
        JobReport("old", Status.SKIPPED, earlier="completed at 2026-11-20T10:00:00Z"),
        JobReport(
            "cut",
            Status.PUSHED,
            progress_of(
                630, 1000, verdict=Verdict(Outcome.FAILED, "Slurm job 7 ended (FAILED) without stats.json")
            ),
            marked=True,
        ),
        JobReport("lost", Status.FAILED, error="dataset repo acme/x not found: check the name"),
        JobReport(
            "quiet",
            Status.UNCHANGED,
            progress_of(10, 100),
            warnings=("cannot tell whether Slurm job 8 is alive: timeout",),
        ),
    )
)


def test_outputs_count_and_list_every_job() -> None:
    values = outputs(REPORT)
    assert (values["updated"], values["finished"], values["failed"]) == ("3", "2", "1")
    records = json.loads(values["report"])
    assert [r["name"] for r in records] == ["done", "math", "old", "cut", "lost", "quiet"]
    assert records[1] == {
        "name": "math",
        "done": 3120,
        "total": 5000,
        "percent": 62,
        "tasks_done": 37,
        "tasks_total": 100,
        "eta": "2h 15m",
        "eta_at": "2026-11-21T14:15:00Z",
        "status": "running",
        "card": "pushed",
        "marked": False,
        "queue": None,
        "counted": None,
        "message": None,
    }
    assert [r["status"] for r in records] == [
        "completed",
        "running",
        "finished earlier",
        "failed",
        "error",
        "running",
    ]
    assert records[4]["message"] == "dataset repo acme/x not found: check the name"


def test_the_summary_lists_running_jobs_first_and_finished_ones_last() -> None:
    summary = step_summary(REPORT)
    rows = [line for line in summary.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == ["math", "lost", "quiet", "done", "old", "cut"]
    assert (
        rows[0]
        == "| `math` | [●●●●●●●●●●●●○○○○○○○○] | 62% | 3,120/5,000 | 37/100 | 2h 15m | running, card pushed |"
    )
    assert rows[3].endswith("| ✅ completed: stats.json found, marked in jobs file |")
    assert rows[5].endswith(
        "| ⚠️ failed: Slurm job 7 ended (FAILED) without stats.json, marked in jobs file |"
    )
    assert rows[1] == "| `lost` |  |  |  |  |  | ❌ error: dataset repo acme/x not found: check the name |"


def test_errors_and_stops_become_annotations_named_after_the_job() -> None:
    assert workflow_commands(REPORT) == [
        "::warning title=progress-card%3A cut::failed at 63%25: Slurm job 7 ended (FAILED) without stats.json",
        "::error title=progress-card%3A lost::dataset repo acme/x not found: check the name",
        "::warning title=progress-card%3A quiet::cannot tell whether Slurm job 8 is alive: timeout",
    ]


def test_annotation_text_is_escaped() -> None:
    report = Report((JobReport("a,b", Status.FAILED, error="50% done\nthen: stop"),))
    assert workflow_commands(report) == ["::error title=progress-card%3A a%2Cb::50%25 done%0Athen: stop"]


def test_output_values_sit_between_unique_delimiters() -> None:
    text = output_file_text({"report": "[1,\n2]", "failed": "0"})
    lines = text.splitlines()
    assert lines[0].startswith("report<<progress_card_") and lines[3] == lines[0].split("<<")[1]
    assert lines[1:3] == ["[1,", "2]"]
    assert lines[4].startswith("failed<<") and lines[5] == "0"


def test_a_pending_job_says_why_in_the_summary_the_report_and_its_line() -> None:
    since = datetime(2026, 12, 1, 14, 2, tzinfo=timezone.utc)
    waiting = JobReport(
        "held", Status.PUSHED, progress_of(0, 100, verdict=Verdict(pending=Pending("JobHeldUser", since)))
    )
    report = Report((waiting,))
    [record] = json.loads(outputs(report)["report"])
    assert (record["status"], record["queue"]) == (
        "pending",
        "pending (JobHeldUser) since Dec 01 2026, 14:02 UTC",
    )
    assert (
        step_summary(report)
        .splitlines()[-1]
        .endswith("| ⏳ pending (JobHeldUser) since Dec 01 2026, 14:02 UTC, card pushed |")
    )
    assert waiting.summary() == (
        "held: 0/100 docs (0%), pending (JobHeldUser) since Dec 01 2026, 14:02 UTC, card pushed"
    )
