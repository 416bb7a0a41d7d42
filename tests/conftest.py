"""Suite-wide: in CI (CI=true, root, ci/setup installed every tool) a skipped
test is a failure - a missing nfcapd, softflowd or tcpreplay must not turn an
interop test into a silent pass."""
import os


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and exitstatus == 0:
        for report in skipped:
            reporter.write_line(f"CI: skipped test counts as a failure: {report.nodeid} "
                                f"({report.longrepr[-1] if isinstance(report.longrepr, tuple) else ''})")
        session.exitstatus = 1
