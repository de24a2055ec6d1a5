from progress_card import starting
from tests.support import ROOT

OWN_ONLY = ("# This repository's own action", "- uses: ./", "jobs-file: jobs.yaml")
INIT_ONLY = ("- uses: progress-card/progress-card@", "check: ${{ github.event_name")


def test_the_workflow_init_writes_is_this_repositorys_own_but_for_the_action_it_uses() -> None:
    """Two copies of one workflow: they differ only where one runs this checkout and the other a release."""
    written = starting.workflow(starting.Pin("0" * 40)).splitlines()
    own = (ROOT / ".github" / "workflows" / "progress.yml").read_text(encoding="utf-8").splitlines()
    assert [line for line in written if not line.strip().startswith(INIT_ONLY)] == [
        line for line in own if not line.strip().startswith(OWN_ONLY)
    ]
