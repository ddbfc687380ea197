"""The CLI's process paces Python's cycle collector (refmon/collector.py)."""

from __future__ import annotations

import subprocess
import sys

from refmon import collector


def test_the_cli_process_passes_over_young_objects_every_fifty_thousand_allocations() -> None:
    code = (
        "import gc, sys\n"
        "from refmon import cli\n"
        "cli.main(['--version'])\n"
        "print(gc.get_threshold()[0], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr.strip().splitlines()[-1] == str(collector.YOUNG)
