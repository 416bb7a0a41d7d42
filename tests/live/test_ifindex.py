"""Kernel ifindex -> v5 16-bit field: overrides, stand-ins for big indexes, truncate quirk."""
import pytest

from probe.live.ifindex import IfindexMap, parse_override


def make(links, overrides=None, truncate=False):
    warnings = []
    m = IfindexMap(overrides, truncate=truncate, warn=warnings.append)
    m.update(links)
    return m, warnings


def test_small_indexes_pass_through_and_zero_stays_zero():
    m, warnings = make({"lo": 1, "eth0": 2, "eth1": 65535})
    assert [m.map(i) for i in (0, 1, 2, 65535)] == [0, 1, 2, 65535]
    assert warnings == []


def test_big_index_gets_a_free_index_counting_down_with_one_warning():
    m, warnings = make({"lo": 1, "r1-eth0": 65535, "r1-eth1": 70000, "r1-eth2": 70001})
    assert m.map(70000) == 65534  # 65535 is taken by r1-eth0
    assert m.map(70001) == 65533
    assert warnings == [
        "r1-eth1 ifindex 70000 cannot be represented in NetFlow v5; exported as 65534 "
        "(override with --ifindex r1-eth1=N)",
        "r1-eth2 ifindex 70001 cannot be represented in NetFlow v5; exported as 65533 "
        "(override with --ifindex r1-eth2=N)"]
    m.update({"lo": 1, "r1-eth0": 65535, "r1-eth1": 70000, "r1-eth2": 70001})
    assert len(warnings) == 2  # once per interface, stable on refresh
    assert m.map(70000) == 65534


def test_override_wins_and_is_not_reused_as_stand_in():
    m, warnings = make({"a": 3, "b": 70000, "c": 70001}, overrides={"a": 65535, "b": 12})
    assert (m.map(3), m.map(70000), m.map(70001)) == (65535, 12, 65534)
    assert len(warnings) == 1 and warnings[0].startswith("c ifindex 70001")


def test_interface_appearing_later_is_mapped_and_warned_then():
    m, warnings = make({"a": 2}, overrides={"late": 9})
    assert warnings == ["--ifindex late: no such interface (yet); the override waits for it"]
    m.update({"a": 2, "late": 80000, "new": 80001})
    assert (m.map(80000), m.map(80001)) == (9, 65535)
    assert m.map(90000) == 65534  # never seen in a dump (a race): still mapped, warned
    assert warnings[-1].startswith("interface ifindex 90000")


def test_truncate_mode_is_the_r135400_quirk():
    m, warnings = make({"a": 70000, "b": 65536 + 5}, overrides={"b": 77}, truncate=True)
    assert (m.map(70000), m.map(65541), m.map(131072 + 3)) == (70000 & 0xFFFF, 77, 3)
    assert warnings == []


@pytest.mark.parametrize("text,why", [("eth0", "NAME=N"), ("eth0=", "NAME=N"), ("=3", "NAME=N"),
                                      ("eth0=x", "not an index"), ("eth0=65536", "not an index")])
def test_parse_override_errors(text, why):
    with pytest.raises(ValueError, match=why):
        parse_override(text)
    assert parse_override("r1-eth1=7") == ("r1-eth1", 7)
