"""Replay tests drive labs through the `netflow_lab` fixture (registered here
too, for a checkout whose package was not reinstalled: see tests/labs)."""
import testbed.pytest_plugin as plugin


def pytest_configure(config):
    if not config.pluginmanager.is_registered(plugin):
        config.pluginmanager.register(plugin, "netflow_lab")
