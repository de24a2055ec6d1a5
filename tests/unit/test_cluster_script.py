"""The script sent to the cluster, and how its answers are read back. Pure; the real round trip is in
tests/integration/test_finish_detection.py."""

import base64
import subprocess
from pathlib import Path

from progress_card.compute.slurm.script import Asked, _stats, build_script, parse_sections
from progress_card.compute.stats import Presence, StatsProbe
from tests.support import watched


def test_every_value_is_quoted_and_nothing_unvalidated_reaches_the_script() -> None:
    script = build_script(
        [
            Asked(watched("a", "42", stats_path="/data/it's a $(touch /tmp/pwned) `x`/stats.json")),
            Asked(watched("b", "7"), seen=False),
        ],
        "feedface",
    )
    assert (
        "env TZ=UTC SLURM_TIME_FORMAT=standard squeue --noheader --states=all '--format=%i %T %S %V %r' --jobs=42 2>&1"
        in script
    )
    assert "'/data/it'\"'\"'s a $(touch /tmp/pwned) `x`/stats.json'" in script
    # The accounts are asked about every job: how it ended, and the GPU-hours its tasks used.
    for job_id in ("42", "7"):
        assert (
            "sacct --noheader --parsable2 --allocations --format=JobID,State,ElapsedRaw,AllocTRES "
            f"--jobs={job_id} 2>/dev/null" in script
        )


def test_the_script_runs_and_its_sections_parse(tmp_path: Path) -> None:
    weird = tmp_path / "it's a $(touch pwned) dir"
    weird.mkdir()
    (weird / "stats.json").write_text('[{"stats": {}}]')
    script = build_script(
        [
            Asked(watched("present", stats_path=str(weird / "stats.json"))),
            Asked(watched("absent", stats_path=str(tmp_path / "missing" / "stats.json"))),
        ],
        "0123abcd",
    )
    # A chatty login profile prints before the script's own output.
    done = subprocess.run(
        ["sh", "-s"],
        input=b"echo Welcome to the cluster\n" + script.encode(),
        capture_output=True,
        cwd=tmp_path,
        check=True,
    )
    sections = parse_sections(done.stdout, "0123abcd")
    assert sections[("stats", 0)][0] == "found"
    assert sections[("stats", 1)] == ("missing", "")
    assert not (tmp_path / "pwned").exists()


def test_sections_ignore_text_before_the_first_marker_and_foreign_markers() -> None:
    stdout = b"motd\n@@abc begin 0 0\n123 RUNNING\n\n@@abc squeue 0 0\n@@other squeue 1 0\n"
    assert parse_sections(stdout, "abc") == {("begin", 0): ("0", "motd"), ("squeue", 0): ("0", "123 RUNNING")}


def test_a_stats_file_that_comes_back_garbled_is_unknown_never_missing() -> None:
    path = "/logs/stats.json"
    content = b'{"total": 1}'
    assert _stats(path, ("found", base64.b64encode(content).decode())) == StatsProbe(Presence.FOUND, content)
    assert _stats(path, ("found", "not base64!")) == StatsProbe(
        Presence.UNKNOWN, detail=f"{path}: the content did not come back intact"
    )
    assert _stats(path, ("missing", "")) == StatsProbe(Presence.MISSING)
