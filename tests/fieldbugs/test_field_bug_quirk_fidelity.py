"""Details of the r135400 quirks, held against the reference C
(shared/reference/netflow-r135400.c), beyond what tests/core/test_quirks.py pins.
"""
from __future__ import annotations

import ipaddress

import pytest

from probe import quirks as Q
from probe.constants import DLT_RAW, Skip
from probe.engine import Config
from probe.packet import FlowKey, Packet
from probe.r135400 import QuirkyProbe

T0 = 7_000_000
TCP, UDP = 6, 17
SYN, FIN, ACK = 0x02, 0x01, 0x10


def _key(sport=1000, dport=80, proto=TCP, dst="10.0.2.2"):
    return FlowKey(int(ipaddress.IPv4Address("10.0.1.1")), int(ipaddress.IPv4Address(dst)),
                   sport, dport, proto, 0, 1)


def _pkt(flags=0, **kw) -> Packet:
    return Packet(_key(**kw), 100, flags)


def _probe(*quirks, **cfg) -> QuirkyProbe:
    return QuirkyProbe(Config(quirks=frozenset(quirks), **cfg), start_ms=T0)


def _records(p: QuirkyProbe):
    return [r for d in p.datagrams_to_send() for r in d.records]


def test_idle_scan_count_lags_one_flow_as_free_flow_returns_the_old_count():
    """Lines 713 and 154: `used = free_flow()` returns nfinfo_used *before* its
    decrement, so above the low-water mark the run expires one large idle flow
    more than the true count would allow."""
    p = _probe(Q.IDLE_LARGE_FLOWS_STUCK, max_flows=8, inactive_ms=1000)  # low-water mark 6
    for port in range(7):  # 7 flows of 5 packets: more than 4, so never SMALL
        for i in range(5):
            p.handle_packet(_pkt(sport=port, proto=UDP), T0 + port * 10 + i)
    p.handle_timer(T0 + 5_000)
    # used 7 > 6: expire, used = 7 (lagging) > 6: expire, used = 6: keep the rest
    assert len(_records(p)) == 2 and len(p.flows()) == 5


def test_truncated_first_fragment_quirk_drops_only_tcp_and_udp():
    """Lines 343-371: r135400 checked the header length of TCP and UDP only;
    an ICMP first fragment of any length was accounted."""
    from scapy.layers.inet import IP
    from scapy.packet import Raw
    icmp = bytes(IP(flags="MF", proto=1, src="10.0.1.1", dst="10.0.2.2") / Raw(b"\x08"))
    tcp = bytes(IP(flags="MF", proto=6, src="10.0.1.1", dst="10.0.2.2") / Raw(b"\x00" * 8))
    p = _probe(Q.TRUNCATED_FIRST_FRAGMENT)
    p.handle_frame(icmp, DLT_RAW, 1, T0)
    p.handle_frame(tcp, DLT_RAW, 1, T0)
    assert p.stats.packets == 1 and p.stats.skipped[Skip.TRUNCATED_L4_HEADER] == 1
    p.flush(T0 + 1)
    (r,) = _records(p)
    assert r.proto == 1


def test_ifindex_expectation_never_follows_the_quirk():
    """The testbed's expected ifindex is the documented mapping whatever the
    probe runs with (it sees only the lab's overrides, never the probe's
    arguments), or the ifindex-overflow lab could not fail."""
    from testbed.plan.interfaces import exported as exported_ifindexes
    links = {"lo": 1, "eth0": 70000, "eth1": 2}
    assert exported_ifindexes(links, {})["eth0"] == 65535
    assert exported_ifindexes(links, {"eth0": 9})["eth0"] == 9


def test_entry_expired_by_a_packet_is_reused_only_after_the_next_run():
    p = _probe(Q.FIRST_FLAGS_LOST)
    p.handle_packet(_pkt(sport=1, flags=SYN), T0)
    p.handle_packet(_pkt(sport=1, flags=FIN | ACK), T0 + 1)  # expires: on the expire list
    p.handle_packet(_pkt(sport=7, dport=53, proto=UDP), T0 + 2)  # no run yet: a fresh entry
    p.handle_timer(T0 + 1_000)  # the run frees the FIN flow's entry ...
    p.handle_packet(_pkt(sport=8, dport=53, proto=UDP), T0 + 1_001)  # ... and this one takes it
    p.flush(T0 + 1_002)
    flags = {r.sport: r.tcp_flags for r in _records(p)}
    assert flags[7] == 0 and flags[8] == FIN | ACK
