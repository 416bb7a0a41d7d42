"""Record and header checks: each field bug shows up as a named finding."""
from __future__ import annotations

import pytest

from nfv5_build import UNIX_MS, datagram, record
from testbed.collector import CheckConfig, Collector


def codes(rec: bytes, **header) -> list[str]:
    got = Collector().receive(datagram([rec], **header), "10.0.9.1", UNIX_MS)
    return [f.code for f in got.records[0].findings]


@pytest.mark.parametrize("fields", [
    dict(proto=6, tcp_flags=0x12, sport=80, dport=40000),
    dict(proto=6, tcp_flags=0, sport=0, dport=0),  # non-first fragments: no TCP header
    dict(proto=17, sport=53, dport=53),
    dict(proto=1, sport=0, dport=0x0303),  # ICMP type/code in the dst port (Cisco, nfdump)
    dict(proto=1, sport=0, dport=0),  # ... or left 0 (r135400)
    dict(proto=47, sport=0, dport=0),
    dict(proto=132, sport=5000, dport=5001),
    dict(packets=1, octets=20, src_mask=32, dst_mask=0),
    dict(first=99_000, last=99_000),
])
def test_a_sane_record_has_no_findings(fields):
    assert codes(record(**fields), uptime=100_000) == []


@pytest.mark.parametrize("fields, code", [
    (dict(first=99_000, last=98_000), "first-after-last"),
    (dict(first=99_000, last=100_001), "last-after-uptime"),
    (dict(proto=17, tcp_flags=0x02), "tcp-flags-not-tcp"),
    (dict(proto=6, tcp_flags=0, sport=40000, dport=80), "tcp-flags-zero"),
    (dict(proto=1, sport=8, dport=0), "icmp-src-port"),
    (dict(proto=47, sport=0, dport=1), "ports-without-ports"),
    (dict(src_mask=33), "mask-over-32"),
    (dict(dst_mask=255), "mask-over-32"),
    (dict(packets=0, octets=0), "zero-packets"),
    (dict(packets=10, octets=199), "octets-below-ip-header"),
    (dict(pad1=1), "nonzero-padding"),
    (dict(pad2=0x100), "nonzero-padding"),
])
def test_each_violation_is_a_named_finding(fields, code):
    assert codes(record(**fields), uptime=100_000) == [code]


def test_uptime_wrap_is_not_a_finding():
    assert codes(record(first=2**32 - 2_000, last=100), uptime=500) == []


def header_codes(data: bytes, recv_ms: int = UNIX_MS, config=CheckConfig(), c=None) -> list[str]:
    got = (c or Collector(config)).receive(data, "10.0.9.1", recv_ms)
    return [f.code for f in got.datagram.findings]


def test_sampling_mode_and_interval_are_decoded_and_mode_3_is_reserved():
    h = Collector().receive(datagram(1, sampling=0x8000 | 0x3FFF), "10.0.9.1", UNIX_MS).datagram.header
    assert (h.sampling_mode, h.sampling_interval) == (2, 0x3FFF)
    assert header_codes(datagram(1, sampling=0xC000 | 10)) == ["sampling-mode-reserved"]


def test_export_time_must_be_near_receive_time_unless_disabled():
    assert header_codes(datagram(1), recv_ms=UNIX_MS + 2_000) == []
    assert header_codes(datagram(1), recv_ms=UNIX_MS + 2_001) == ["export-time-skew"]
    assert header_codes(datagram(1), recv_ms=UNIX_MS - 60_000) == ["export-time-skew"]
    assert header_codes(datagram(1), UNIX_MS + 10**9, CheckConfig(clock_slack_ms=None)) == []


def test_uptime_in_seconds_shows_as_a_drifting_boot_time():
    """The `uptime-seconds` field bug: sys_uptime advances 1 per second, not 1000."""
    c = Collector()
    assert header_codes(datagram(1, seq=0, uptime=100, unix_ms=UNIX_MS), c=c) == []
    assert header_codes(datagram(1, seq=1, uptime=101, unix_ms=UNIX_MS + 1_000), UNIX_MS + 1_000, c=c) == []
    assert header_codes(datagram(1, seq=2, uptime=102, unix_ms=UNIX_MS + 2_000), UNIX_MS + 2_000,
                        c=c) == ["uptime-drift"]


def test_boot_time_survives_an_uptime_wrap_and_restarts_with_a_reset():
    c = Collector()
    assert header_codes(datagram(1, seq=0, uptime=2**32 - 100), c=c) == []
    assert header_codes(datagram(1, seq=1, uptime=400, unix_ms=UNIX_MS + 500), UNIX_MS + 500, c=c) == []
    # the probe restarts 10 s later: a reset, and a new boot time without a drift finding
    got = c.receive(datagram(1, seq=0, uptime=50, unix_ms=UNIX_MS + 10_000), "10.0.9.1", UNIX_MS + 10_000)
    assert got.datagram.seq_status == "reset" and got.datagram.findings == ()
