"""probe/constants.pxd is probe/constants.py for the compiled engine: generated
(`python -m probe.mirror`), never edited, and the build in use is from it."""
from __future__ import annotations

import re

from probe import constants, mirror
from probe.fast import _engine


def test_the_pxd_in_the_tree_is_what_the_generator_writes():
    assert mirror.PXD.read_text() == mirror.pxd(), "run `python -m probe.mirror`, then ci/setup"


def test_the_compiled_engine_was_built_from_these_constants():
    assert _engine.MIRROR_BUILT == mirror.fingerprint(), "run ci/setup"


def test_every_value_and_reason_is_mirrored():
    text = mirror.PXD.read_text()
    declared = dict(re.findall(r"^    (\w+) = (\d+)$", text, re.M))
    declared.update(re.findall(r"#define PROBE_(\w+) (\d+)LL", text))
    assert {k: int(v) for k, v in declared.items() if k != "MIRROR"} == mirror.values()
    assert declared["OCTETS_LIMIT"] == str(constants.U32_MAX - 65535)
    for reason in constants.Skip:
        assert int(declared[f"SKIP_{reason.name}"]) == reason
    for reason in constants.Expiry:
        assert int(declared[f"EXPIRY_{reason.name}"]) == reason
    assert int(declared["V5_RECORD_DST_MASK"]) == 45 and int(declared["V5_RECORD_SIZE"]) == 48


def test_a_changed_value_changes_the_fingerprint(monkeypatch):
    before = mirror.fingerprint()
    monkeypatch.setattr(constants, "OCTETS_LIMIT", constants.OCTETS_LIMIT - 1)
    assert mirror.fingerprint() != before
