"""The README's commands as users type them: `python -m testbed ...` / `python -m probe ...`
from a checkout, with the system's Python (not the project's venv)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason="no system python3")


def system(*argv: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "NETFLOW_LAB_REEXEC")}
    return subprocess.run([SYSTEM_PYTHON, "-m", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_validate_collect_and_the_probe_run_under_the_system_python():
    done = system("testbed", "validate", "topologies/quickstart.yaml")
    assert done.returncode == 0 and "ok: quickstart" in done.stdout, done.stderr
    done = system("testbed", "collect", "--listen", "127.0.0.1:0", "--duration", "0.2")
    assert done.returncode == 0 and "Summary: 0 records" in done.stdout, done.stderr
    done = system("probe", "-r", "samples/quickstart.pcap", "--route", "10.0.0.0/8", "--print")
    assert done.returncode == 0 and '"src_mask":8' in done.stdout, done.stderr


@pytest.mark.root
@pytest.mark.slow
def test_the_quickstart_lab_runs_under_the_system_python():
    if os.geteuid() != 0:
        pytest.skip("labs need root")
    done = system("testbed", "run", "topologies/quickstart.yaml", timeout=120)
    assert done.returncode == 0 and "PASSED: 7/7" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    done = system("testbed", "clean")
    assert done.returncode == 0, done.stderr


def test_a_checkout_without_its_venv_says_what_to_run(tmp_path):
    for package in ("probe", "testbed"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "ci").mkdir()
    shutil.copy(ROOT / "ci" / "setup", tmp_path / "ci" / "setup")  # what makes it a checkout
    done = system("testbed", "run", "x.yaml", cwd=tmp_path)
    missing = [m for m in ("yaml", "scapy", "pyroute2", "netaddr", "mininet")
               if subprocess.run([SYSTEM_PYTHON, "-c", f"import {m}"], capture_output=True).returncode]
    if not missing:
        pytest.skip("the system python has every package: nothing to re-run")
    assert done.returncode == 2 and done.stderr.splitlines() == [
        f"python -m testbed: {SYSTEM_PYTHON} has no {', '.join(missing)}: run ci/setup (as root) "
        f"in {tmp_path}, then this command again"]


def test_an_installed_testbed_without_mininet_says_how_its_venv_reaches_it(tmp_path):
    """Installed (no ci/setup beside the packages), with every PyPI dependency but without
    Debian's dist-packages: the one line says how a venv reaches python3-mininet."""
    for package in ("probe", "testbed"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    deps = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    debian = tmp_path / "debian-yaml"  # ci/setup's venv takes PyYAML from Debian: that alone
    debian.mkdir()
    for name in ("yaml", "_yaml"):
        if (Path("/usr/lib/python3/dist-packages") / name).exists():
            (debian / name).symlink_to(Path("/usr/lib/python3/dist-packages") / name)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NETFLOW_LAB_REEXEC")}
    env["PYTHONPATH"] = f"{tmp_path}:{deps}:{debian}"
    run = lambda *argv: subprocess.run([SYSTEM_PYTHON, "-S", "-m", *argv], cwd=tmp_path, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    done = run("testbed", "run", "x.yaml")  # -S: no site directories, no Debian dist-packages
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"python -m testbed: {SYSTEM_PYTHON} cannot import mininet: it is Debian's python3-mininet: make this "
        "venv with `python3 -m venv --system-site-packages`, or let it see /usr/lib/python3/dist-packages: "
        "echo /usr/lib/python3/dist-packages > /") and line.endswith("/debian.pth"), line
    done = run("testbed", "validate", str(ROOT / "topologies" / "quickstart.yaml"))
    assert done.returncode == 0, done.stderr  # validate builds nothing: no Mininet needed
