"""The Impairer (sans-IO): seeded fates, exact log, reorder and delay on a fake clock."""
import struct

import pytest

from testbed.faults.impair import REORDER_HOLD_S, Impairer, Policy

T0 = 1_700_000_000.0


def v5(seq: int, count: int = 2, uptime: int = 1000) -> bytes:
    header = struct.pack("!HHIIIIBBH", 5, count, uptime + seq, 0, 0, seq, 0, 1, 0)
    record = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 0, 1, 10]), bytes([10, 0, 2, 10]),
                         b"\0" * 4, 2, 3, 3, 300, 0, 0, 40000, 5000 + seq, 0, 0, 17, 0, 0, 0, 24, 24, 0)
    return header + record * count


def run(policy: Policy, n: int = 200):
    imp = Impairer(policy)
    sent = []
    for i in range(n):
        imp.receive(v5(i * 2), T0 + i)
        sent += imp.due(T0 + i)
    sent += imp.flush()
    return [struct.unpack_from("!I", d, 16)[0] for d in sent], imp.take_log()


def test_nothing_set_everything_passes_in_order():
    seqs, log = run(Policy())
    assert seqs == [i * 2 for i in range(200)]
    assert {e["action"] for e in log} == {"pass"} and log[0]["records"][0][:6] == [
        "10.0.1.10", "10.0.2.10", 40000, 5000, 17, 0]


def test_same_seed_same_fates_and_the_log_says_what_was_done():
    policy = Policy(drop=0.1, duplicate=0.05, reorder=0.1, seed=7)
    (seqs, log), (again, log2) = run(policy), run(policy)
    assert seqs == again and [e["action"] for e in log] == [e["action"] for e in log2]
    fates = {a: sum(e["action"] == a for e in log) for a in ("drop", "duplicate", "reorder", "pass", "delay")}
    assert all(fates.values()) and sum(fates.values()) == 200  # delay: held, then nothing overtook it
    dropped = {e["seq"] for e in log if e["action"] == "drop"}
    assert not dropped & set(seqs)  # a dropped datagram never leaves
    for e in log:
        if e["action"] == "duplicate":
            assert seqs.count(e["seq"]) == 2
        if e["action"] == "reorder":  # it left after the datagram that followed it in
            i = seqs.index(e["seq"])
            assert i > 0 and seqs[i - 1] > e["seq"]
    assert run(Policy(drop=0.1, duplicate=0.05, reorder=0.1, seed=8))[0] != seqs


def test_a_held_datagram_goes_out_in_order_if_nothing_overtakes_it():
    imp = Impairer(Policy(reorder=1.0))
    imp.receive(v5(0), T0)
    assert imp.due(T0 + 0.5) == [] and imp.next_timer() == T0 + REORDER_HOLD_S
    assert imp.due(T0 + REORDER_HOLD_S) == [v5(0)]
    assert [e["action"] for e in imp.take_log()] == ["delay"]


def test_delay_holds_every_datagram():
    imp = Impairer(Policy(delay_ms=50))
    imp.receive(v5(0), T0)
    imp.receive(v5(2), T0 + 0.01)
    assert imp.due(T0 + 0.049) == [] and imp.next_timer() == pytest.approx(T0 + 0.05)
    assert imp.due(T0 + 0.06) == [v5(0), v5(2)]
    assert [e["sent"] for e in imp.take_log()] == [pytest.approx(T0 + 0.05), pytest.approx(T0 + 0.06)]


def test_a_new_policy_takes_over_and_garbage_is_logged_not_fatal():
    imp = Impairer(Policy(drop=1.0))
    imp.receive(v5(0), T0)
    imp.set_policy(Policy())
    imp.receive(b"\x00\x05junk", T0 + 1)
    assert imp.due(T0 + 1) == [b"\x00\x05junk"]
    assert [(e["action"], e.get("malformed")) for e in imp.take_log()] == [("drop", None),
                                                                         ("pass", "too-short")]


@pytest.mark.parametrize("bad", [dict(drop=-0.1), dict(drop=0.6, reorder=0.6), dict(delay_ms=-1)])
def test_policies_are_checked(bad):
    with pytest.raises(ValueError):
        Policy(**bad)
