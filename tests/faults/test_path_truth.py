"""The tap's log against what the collector received: exact, datagram by datagram,
and the sequence report the log makes (in the order the copies left)."""
from dataclasses import dataclass

from testbed.expect.path_truth import path_truth

REC = ["10.0.1.10", "10.0.2.10", 40000, 5000, 17, 0, 3, 300]
ENGINE = (0, 1)


@dataclass
class H:
    flow_sequence: int
    sys_uptime: int


@dataclass
class D:
    header: H


def entry(seq, action, sent=10.0, count=1):
    return {"t": sent, "seq": seq, "uptime": 100 + seq, "export_ms": 5000 + seq, "count": count,
            "engine": list(ENGINE), "records": [REC] * count, "action": action,
            "sent": None if action == "drop" else sent}


def arrived(*seqs):
    return [D(H(s, 100 + s)) for s in seqs]


def counts(truth):
    e = truth.expected
    return e and dict(datagrams=e.datagrams, duplicates=e.duplicates, reordered=e.reordered,
                      lost=e.records_lost, resets=e.resets, first=e.first_sequence)


def test_exactly_what_the_tap_did_arrived():
    # 4 overtook 3 (the tap notes the overtaking one first, and both leave together)
    log = [entry(0, "pass"), entry(1, "drop"), entry(2, "duplicate"), entry(4, "pass"), entry(3, "reorder")]
    truth = path_truth(log, arrived(0, 2, 2, 4, 3), [], ENGINE)
    assert truth.problems == [] and truth.lost_records == 1
    assert dict(truth.lost) == {("10.0.1.10", "10.0.2.10", 40000, 5000, 17, 0): [3, 300]}
    assert counts(truth) == dict(datagrams=5, duplicates=1, reordered=1, lost=1, resets=0, first=0)
    assert "5 datagrams" in truth.summary()


def test_a_missing_a_doubled_and_a_stray_datagram_are_each_named():
    log = [entry(0, "pass"), entry(1, "pass"), entry(2, "duplicate")]
    truth = path_truth(log, arrived(0, 0, 2, 9), [], ENGINE)
    assert truth.problems == [
        "datagram flow_sequence 0 (1 records, pass by the tap) should have arrived 1 time(s), arrived 2",
        "datagram flow_sequence 1 (1 records, pass by the tap) should have arrived 1 time(s), arrived 0",
        "datagram flow_sequence 2 (1 records, duplicate by the tap) should have arrived 2 time(s), arrived 1",
        "datagram flow_sequence 9 arrived but never went through the tap"]


def test_sent_while_the_collector_was_down_may_be_lost_and_unsent_never_arrives():
    log = [entry(0, "pass", 5.0), entry(1, "pass", 12.0), entry(2, "pass", 13.0), entry(3, "pass", 30.0),
           {"t": 31.0, "seq": 3, "uptime": 103, "action": "unsent", "error": "Network is unreachable"}]
    truth = path_truth(log, arrived(0, 2), [(11.0, 20.0)], ENGINE)
    assert truth.problems == [] and truth.in_outage == 1 and truth.lost_records == 2
    assert counts(truth) == dict(datagrams=2, duplicates=0, reordered=0, lost=1, resets=0, first=0)
    assert path_truth(log, arrived(0, 2, 3), [(11.0, 20.0)], ENGINE).problems == [
        "datagram flow_sequence 3 (1 records, pass by the tap) should have arrived 0 time(s), arrived 1"]


def test_everything_dropped_expects_nothing():
    truth = path_truth([entry(0, "drop"), entry(1, "drop")], [], [], ENGINE)
    assert truth.problems == [] and truth.expected is None and truth.lost_records == 2
    assert truth.expectation() == "so none may arrive"


def test_an_overtaken_first_datagram_is_expected_as_a_reorder():
    truth = path_truth([entry(1, "pass"), entry(0, "reorder")], arrived(1, 0), [], ENGINE)
    assert counts(truth) == dict(datagrams=2, duplicates=0, reordered=1, lost=0, resets=0, first=0)


def test_a_duplicate_into_an_outage_counts_as_it_arrived():
    log = [entry(0, "pass", 5.0), entry(1, "duplicate", 12.0), entry(2, "pass", 30.0)]
    none = path_truth(log, arrived(0, 2), [(11.0, 20.0)], ENGINE)
    assert (none.in_outage, none.lost_records, counts(none)["duplicates"], counts(none)["lost"]) == (1, 1, 0, 1)
    one = path_truth(log, arrived(0, 1, 2), [(11.0, 20.0)], ENGINE)  # drained before the stop
    assert (one.in_outage, one.lost_records, counts(one)["duplicates"], counts(one)["lost"]) == (1, 0, 0, 0)


def test_a_delay_the_next_policy_cleared_reorders():
    log = [entry(0, "pass", 9.0), entry(1, "delay", 11.5), entry(2, "pass", 10.5)]
    truth = path_truth(log, arrived(0, 2, 1), [], ENGINE)
    assert counts(truth) == dict(datagrams=3, duplicates=0, reordered=1, lost=0, resets=0, first=0)


def test_other_engines_are_not_this_probes():
    other = {**entry(0, "drop"), "engine": [0, 2]}
    assert path_truth([other], arrived(), [], ENGINE).lost_records == 0
