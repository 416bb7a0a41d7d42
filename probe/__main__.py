"""`python -m probe`: from a checkout, whatever `python` is (root's python3, a pyenv
shim). Without the project's packages it runs again under the checkout's venv
(ci/setup makes it), or says in one line what to run. (testbed/__main__.py has
its twin: the probe depends on nothing of the testbed.) Ctrl-C while the modules
load ends it with one line and status 130; the offline and live drivers handle it
themselves while they run (flows expired and sent, statistics printed)."""
import _signal as signal  # the C module: `signal` itself takes milliseconds to import (its enums)
import os
import sys


def _interrupted(signum, frame) -> None:
    sys.stderr.write("python -m probe: interrupted\n")
    os._exit(130)


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when the caller ignores it
    signal.signal(signal.SIGINT, _interrupted)

import importlib.util  # noqa: E402

_missing = [m for m in ("netaddr", "pyroute2") if importlib.util.find_spec(m) is None]
if _missing:
    _checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _venv = os.path.join(_checkout, ".venv", "bin", "python")
    if os.access(_venv, os.X_OK) and not os.environ.get("NETFLOW_LAB_REEXEC"):
        os.environ["NETFLOW_LAB_REEXEC"] = "1"  # never loop
        os.execv(_venv, [_venv, "-m", "probe", *sys.argv[1:]])
    if os.path.exists(os.path.join(_checkout, "ci", "setup")):
        print(f"python -m probe: {sys.executable} has no {', '.join(_missing)}: run ci/setup "
              f"(as root) in {_checkout}, then this command again", file=sys.stderr)
    else:  # installed into some venv without its dependencies
        print(f"python -m probe: {sys.executable} has no {', '.join(_missing)}: install netflow-lab with pip "
              "(pip install /path/to/checkout), which brings its dependencies", file=sys.stderr)
    sys.exit(2)

from .cli import main  # noqa: E402

sys.exit(main())  # both drivers put their own SIGINT handler in place while they run
