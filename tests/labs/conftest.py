"""The lab tests use the `netflow_lab` fixture of testbed/pytest_plugin.py.

The plugin is registered for every pytest run through its `pytest11` entry
point once the package is installed; until then (or in a checkout that was
not reinstalled) it is registered here, once.
"""
import testbed.pytest_plugin as plugin


def pytest_configure(config):
    if not config.pluginmanager.is_registered(plugin):
        config.pluginmanager.register(plugin, "netflow_lab")
