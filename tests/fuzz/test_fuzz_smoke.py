"""A short run of each fuzzing target (ci/fuzz runs the long campaigns): the
seeds, then seeded mutants of them; no crash, every property held."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mutate import mutant
from targets import TARGETS

SMOKE = {"decode": 20_000, "pcap": 10_000, "collector": 20_000, "v9": 5_000, "ipfix": 5_000, "yaml": 2_000}


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_and_mutants_hold(name):
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds
    for data in seeds:
        target.check(data)
    for i in range(SMOKE[name]):
        data = mutant(seeds, 7, i, target.max_len)
        try:
            target.check(data)
        except Exception as exc:
            raise AssertionError(f"{name}: mutant {i} of seed 7 ({data[:64]!r}...)") from exc


def test_a_broken_property_is_caught_and_the_input_kept(tmp_path, monkeypatch):
    """The campaign runner fails (exit 1) on the first bad input and keeps it."""
    script = Path(__file__).with_name("campaign.py")
    code = ("import sys, targets; t = targets.TARGETS['decode'];"
            "targets.TARGETS['decode'] = t.__class__(lambda d: (_ for _ in ()).throw(ValueError('x')) if len(d) > 40 "
            "else None, t.seeds, t.max_len); sys.argv[0] = %r; import campaign; "
            "sys.exit(campaign.main(['decode', '--runs', '50', '--engine', 'mutate', '--corpus', %r]))"
            % (str(script), str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", code], cwd=script.parent, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "failed, kept in" in done.stdout, done.stdout + done.stderr
    assert len(list(tmp_path.glob("crash-*"))) == 1
