"""`--engine`: fast by default, the reference engine for quirks (by itself
unless --engine fast insists), and both give the same output."""
from __future__ import annotations

import json

import pytest

from probe import quirks as Q
from probe.bench import gen
from probe.cli import main
from probe.engine import Config
from probe.fast.choose import engine_name


def test_fast_by_default_reference_for_quirks():
    assert engine_name(None, Config()) == "fast"
    assert engine_name("reference", Config()) == "reference"
    assert engine_name(None, Config(quirks=frozenset([Q.UPTIME_SECONDS]))) == "reference"
    with pytest.raises(ValueError, match="no quirks"):
        engine_name("fast", Config(quirks=frozenset([Q.UPTIME_SECONDS])))


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("choice") / "g.pcap")
    gen.write(path, packets=2000, flows=200, seed=3, duration_s=30)
    return path


def _run(capsys, *argv):
    assert main(["--print", *argv]) == 0
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def test_both_engines_print_the_same(capsys, capture):
    fast, fast_err = _run(capsys, "-r", capture, "--inactive-timeout", "2")
    ref, ref_err = _run(capsys, "-r", capture, "--inactive-timeout", "2", "--engine", "reference")
    assert fast == ref and len(fast) > 200
    assert fast_err == ref_err  # the statistics


def test_quirk_runs_on_the_reference_engine_silently(capsys, capture):
    recs, err = _run(capsys, "-r", capture, "--quirk", Q.UPTIME_SECONDS)
    assert recs and "engine" not in err
    with pytest.raises(SystemExit) as exc:
        main(["--print", "-r", capture, "--quirk", Q.UPTIME_SECONDS, "--engine", "fast"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no quirks" in err


def test_not_built_falls_back_with_one_line(monkeypatch, capsys):
    import probe.fast.choose as choose
    monkeypatch.setattr(choose, "NOT_BUILT", ImportError("no _engine"))
    assert engine_name(None, Config()) == "reference"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not built" in err
    with pytest.raises(ValueError, match="run ci/setup"):
        engine_name("fast", Config())
