"""The testbed's own packet builder is byte for byte what scapy builds (scapy is the oracle
here), and reading or validating a lab file loads no scapy."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.packet import Raw

from testbed.traffic import craft

ROOT = Path(__file__).resolve().parents[2]
addresses = st.ip_addresses(v=4).map(str)
ports = st.integers(0, 65535)
payloads = st.binary(max_size=3000)
tos = st.integers(0, 255)


@settings(max_examples=200, deadline=None)
@given(addresses, addresses, ports, ports, payloads, tos, st.integers(1, 255))
def test_udp(src, dst, sport, dport, data, t, ttl):
    want = bytes(IP(src=src, dst=dst, tos=t, ttl=ttl) / UDP(sport=sport, dport=dport) / Raw(data))
    assert craft.udp(src, dst, sport, dport, data, tos=t, ttl=ttl) == want


@settings(max_examples=200, deadline=None)
@given(addresses, addresses, ports, ports, st.sampled_from(["S", "SA", "A", "PA", "FA", "R"]),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), payloads, tos)
def test_tcp(src, dst, sport, dport, flags, seq, ack, data, t):
    want = bytes(IP(src=src, dst=dst, tos=t) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
                 / Raw(data))
    assert craft.tcp(src, dst, sport, dport, flags, seq, ack, data, tos=t) == want


@settings(max_examples=200, deadline=None)
@given(addresses, addresses, st.integers(0, 255).filter(lambda t: t not in (13, 14, 17, 18, 37, 38)),
       st.integers(0, 255), ports, ports, payloads, tos)
def test_icmp(src, dst, kind, code, ident, seq, data, t):
    """(scapy adds fields of its own to 13/14 timestamps, 17/18 masks, 37/38 domain names;
    the lab's steps send what is asked)"""
    want = bytes(IP(src=src, dst=dst, tos=t) / ICMP(type=kind, code=code, id=ident, seq=seq) / Raw(data))
    assert craft.icmp(src, dst, kind, code, ident, seq, data, tos=t) == want


@settings(max_examples=100, deadline=None)
@given(addresses, addresses, st.binary(min_size=1, max_size=4000), st.integers(1, 200).map(lambda n: 8 * n),
       st.integers(0, 65535))
def test_fragments_as_scapys_fragment(src, dst, data, size, ident):
    packet = craft.udp(src, dst, 1, 2, data, ident=ident)
    assert craft.fragment(packet, size) == [bytes(f) for f in fragment(IP(packet), fragsize=size)]


def test_a_first_fragment_of_a_given_size():
    packet = craft.tcp("10.0.1.10", "10.0.2.10", 40001, 5001, "PA", payload=b"f" * 100, ident=0x1000)
    first, rest = craft.fragments(packet, [8, 0])
    a, b = IP(first), IP(rest)
    assert (a.flags.MF, a.frag, len(a.payload), a.proto, a.id) == (1, 0, 8, 6, 0x1000)
    assert (b.flags.MF, b.frag, len(b.payload)) == (0, 1, 20 + 100 - 8)
    assert bytes(a.payload) + bytes(b.payload) == packet[20:]


def test_validate_and_plan_load_no_scapy():
    code = ("import sys; from testbed.plan import load_plan; "
            f"p = load_plan({str(ROOT / 'topologies/four-ports.yaml')!r}); "
            "[s.plan(p.topology) for s in p.topology.traffic if hasattr(s, 'plan')]; "
            "sys.exit('scapy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
