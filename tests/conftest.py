"""Suite-wide: in CI (CI=true, root, ci/setup installed every tool) a skipped
test is a failure - a missing nfcapd, softflowd or tcpreplay must not turn an
interop test into a silent pass."""
import os
import signal
from pathlib import Path

import pytest


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def pytest_configure(config):
    # SIGTERM (a timeout, a CI runner) would end the process at once, before any fixture's
    # teardown: as an interrupt, the namespaces and processes tests made are removed.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and exitstatus == 0:
        for report in skipped:
            reporter.write_line(f"CI: skipped test counts as a failure: {report.nodeid} "
                                f"({report.longrepr[-1] if isinstance(report.longrepr, tuple) else ''})")
        session.exitstatus = 1


# Tests that build namespaces, veths or labs need root: marked here by where they live
# and what they use, so `ci/quick` (-m "not root and not slow") runs only the rest.
ROOT_FOLDERS = {"labs", "live"}
ROOT_FIXTURES = {"netflow_lab"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent.name in ROOT_FOLDERS or ROOT_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.root)
