"""The pytest plugin's registration, without root: its markers under --strict-markers, its options."""
from __future__ import annotations

import subprocess
import sys

INNER = '''
import pytest

@pytest.mark.root
def test_marked():
    pass

def test_uses_the_fixture(netflow_lab):
    pass
'''


def test_markers_are_registered_for_strict_markers_users(tmp_path):
    """A project of its own (no conftest, no ini markers): `root` is known, and a test using
    the fixture carries it, so `-m "not root"` deselects it."""
    (tmp_path / "test_inner.py").write_text(INNER)
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", str(tmp_path)]
    done = subprocess.run(base + ["-m", "not root"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 5 and "2 deselected" in done.stdout, done.stdout + done.stderr  # 5: nothing ran
    done = subprocess.run(base + ["--markers"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "@pytest.mark.root: needs root" in done.stdout
    done = subprocess.run(base + ["--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "--lab-artifacts=DIR" in done.stdout and "--lab-require-root" in done.stdout
