"""Captures from the field (public ones nobody here wrote): VLAN tags libpcap
puts back into SLL frames, BIG TCP, outgoing copies of `tcpdump -i any`,
per-interface input ifindex offline (the FCS bits of the link type: see
test_fcs_linktype.py). The rules on the reference engine, then the command
line on both engines (tests/fast holds the two to the same bytes on
generated frames and files)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from capture_formats import pcap_bytes, pcapng_bytes, sll, sll2
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from probe.cli import main
from probe.constants import DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, GSO_MAX_SIZE, Expiry, Skip
from probe.decode import decode, sll2_ifindex
from probe.engine import Config, Probe
from probe.input_ifindex import InputIfindex
from probe.offline import run_file
from probe.packet import FlowKey, Packet
from probe.pcapfile import read

TCP_PKT = bytes(IP(src="10.0.1.1", dst="10.0.2.2") / TCP(sport=1234, dport=80, flags="A") / Raw(b"x" * 10))
OUTGOING = 4
ETH = bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02", type=0x0800))
T0 = 1_700_000_000 * 10**9


def big_tcp(payload: int) -> bytes:
    """An IPv4 BIG TCP packet as captured: total length 0, the frame holds it all."""
    pkt = bytearray(bytes(IP(src="10.0.1.1", dst="10.0.2.2") / TCP(sport=1, dport=2, flags="PA"))
                    + bytes(payload))
    pkt[2:4] = b"\0\0"
    return bytes(pkt)


# -- the rules, on the reference engine --------------------------------------------

def test_vlan_tags_libpcap_puts_back_into_sll_frames():
    untagged = decode(TCP_PKT, DLT_RAW, 3)
    assert untagged.octets == len(TCP_PKT)
    assert decode(sll(TCP_PKT, tags=b"\x81\x00\x00\x05"), DLT_LINUX_SLL, 3) == untagged
    assert decode(sll(TCP_PKT, tags=b"\x88\xa8\x00\x05\x81\x00\x00\x06"), DLT_LINUX_SLL, 3) == untagged
    assert decode(sll(TCP_PKT, tags=b"\x81\x00\x00\x05" * 3), DLT_LINUX_SLL, 3) == Skip.TOO_MANY_VLAN_TAGS
    assert decode(sll(b"", protocol=0x8100), DLT_LINUX_SLL, 3) == Skip.SHORT_LINK_HEADER
    assert decode(sll(TCP_PKT, tags=b"\x81\x00\x00\x05", protocol=0x86DD), DLT_LINUX_SLL, 3) == Skip.NOT_IPV4


def test_outgoing_copies_in_cooked_captures_are_skipped():
    assert decode(sll(TCP_PKT, OUTGOING), DLT_LINUX_SLL, 3) == Skip.OUTGOING
    assert decode(sll2(TCP_PKT, 9, OUTGOING), DLT_LINUX_SLL2, 3) == Skip.OUTGOING
    assert decode(sll2(TCP_PKT, 9, OUTGOING, protocol=0x86DD), DLT_LINUX_SLL2, 3) == Skip.OUTGOING
    assert decode(sll(b"", OUTGOING)[:15], DLT_LINUX_SLL, 3) == Skip.SHORT_LINK_HEADER  # checked first
    for pkttype in (0, 1, 2, 3):  # to us, broadcast, multicast, another host (promiscuous)
        assert decode(sll(TCP_PKT, pkttype), DLT_LINUX_SLL, 3) == decode(TCP_PKT, DLT_RAW, 3)
        assert decode(sll2(TCP_PKT, 9, pkttype), DLT_LINUX_SLL2, 3) == decode(TCP_PKT, DLT_RAW, 3)
    assert sll2_ifindex(sll2(TCP_PKT, 70001)) == 70001 and sll2_ifindex(b"short") == 0


def test_big_tcp_is_accounted_from_the_length_on_the_wire_as_linux_does():
    pkt = big_tcp(100_000)
    p = decode(pkt, DLT_RAW, 1)
    assert p.octets == 40 + 100_000 and (p.key.sport, p.key.dport, p.tcp_flags) == (1, 2, 0x18)
    cut = pkt[:96]  # a capture with a snap length: the length on the wire counts
    assert decode(cut, DLT_RAW, 1, wire_len=len(pkt)).octets == 40 + 100_000
    assert decode(ETH + cut, DLT_EN10MB, 1, wire_len=14 + len(pkt)).octets == 40 + 100_000
    assert decode(cut, DLT_RAW, 1) == Skip.BAD_TOTAL_LENGTH  # no length on the wire: the frame's, 96
    udp = bytearray(bytes(IP() / UDP() / Raw(b"x" * 100)))
    udp[2:4] = b"\0\0"
    assert decode(bytes(udp), DLT_RAW, 1) == Skip.BAD_TOTAL_LENGTH  # a tunnel's UDP: past 64 KiB only
    icmp = bytearray(bytes(IP() / ICMP()))
    icmp[2:4] = b"\0\0"
    assert decode(bytes(icmp), DLT_RAW, 1, wire_len=100_000) == Skip.BAD_TOTAL_LENGTH  # GSO: TCP, UDP
    # no larger than Linux's largest GSO packet (found by ci/fuzz: a record length of
    # 4 GB in a capture file made a flow's octets overflow the v5 field)
    assert decode(cut, DLT_RAW, 1, wire_len=GSO_MAX_SIZE).octets == GSO_MAX_SIZE == 8 * 65535
    assert decode(cut, DLT_RAW, 1, wire_len=GSO_MAX_SIZE + 1) == Skip.BAD_TOTAL_LENGTH
    assert decode(cut, DLT_RAW, 1, wire_len=2**32 - 1) == Skip.BAD_TOTAL_LENGTH
    assert decode(cut, DLT_RAW, 1, wire_len=19) == Skip.BAD_TOTAL_LENGTH  # shorter than its IP header
    # Linux writes 0 only for a packet past 64 KiB and drops a shorter one that says 0
    assert decode(cut, DLT_RAW, 1, wire_len=65535) == Skip.BAD_TOTAL_LENGTH
    assert decode(cut, DLT_RAW, 1, wire_len=65536).octets == 65536
    assert decode(ETH + cut, DLT_EN10MB, 1, wire_len=14 + 65535) == Skip.BAD_TOTAL_LENGTH
    damaged = bytearray(cut)
    damaged[2:4] = b"\0\x13"  # 19: shorter than the header but not 0: damage, not BIG TCP
    assert decode(bytes(damaged), DLT_RAW, 1, wire_len=len(pkt)) == Skip.BAD_TOTAL_LENGTH


CAPTURES = Path(__file__).parent / "captures"  # tcpdump's (captures/README.md)
TUNNELS = {  # file: the outer UDP ports and IPv4 length on the wire (tcpdump -v reads the same)
    "bigtcp-ipv4-vxlan-ipv4.pcap": (47044, 4789, 80102),
    "bigtcp-ipv4-geneve-ipv6.pcap": (60614, 6081, 80122),
}


@pytest.mark.parametrize("name", TUNNELS)
def test_big_tcp_in_a_udp_tunnel_is_the_outer_packet_on_the_wire(name):
    """VXLAN and Geneve carry BIG TCP in an outer IPv4 packet of total length 0
    too (its GSO is TCP underneath): the outer UDP packet is accounted."""
    sport, dport, octets = TUNNELS[name]
    with open(CAPTURES / name, "rb") as f:
        (fr,) = read(f)
    assert fr.wire_len == len(fr.data) == 14 + octets and fr.data[16:18] == b"\0\0"
    p = decode(fr.data, fr.linktype, 1, wire_len=fr.wire_len)
    assert (p.key.proto, p.key.sport, p.key.dport, p.octets, p.truncated) == (17, sport, dport,
                                                                              octets, False)
    assert decode(fr.data[:96], fr.linktype, 1, wire_len=fr.wire_len) == p  # cut to a snap length


def test_big_tcp_packets_split_a_flow_before_its_octet_counter_wraps():
    """ng_netflow's limit keeps room for one more packet of 64 KiB; a BIG TCP
    packet may not fit: the flow is exported first and the packet starts the next."""
    probe = Probe(Config(), start_ms=0)
    key = FlowKey(1, 2, 3, 4, 6, 0, 1)
    below = 0xFFFFFFFF - 65535 - 1  # just below the limit: the flow stays
    probe.handle_packet(Packet(key, below, 0x10), 10)
    probe.handle_packet(Packet(key, GSO_MAX_SIZE, 0x10), 20)
    probe.flush(30, Expiry.SHUTDOWN)
    assert [(r.packets, r.octets, r.reason) for d in probe.datagrams_to_send() for r in d.records] == [
        (1, below, Expiry.COUNTER_OVERFLOW), (1, GSO_MAX_SIZE, Expiry.SHUTDOWN)]


def test_capture_files_give_the_length_on_the_wire():
    pkt = big_tcp(150_000)
    ((fr,),) = [list(read(io.BytesIO(pcap_bytes([(T0, pkt[:200], len(pkt))], DLT_RAW))))]
    assert (fr.wire_len, len(fr.data)) == (len(pkt), 200)
    ng = pcapng_bytes([(DLT_RAW, None, None)], [(0, T0, pkt[:200], len(pkt))])
    ((fr,),) = [list(read(io.BytesIO(ng)))]
    assert (fr.wire_len, len(fr.data), fr.interface.id, fr.interface.name) == (len(pkt), 200, 0, None)
    probe = Probe(Config())
    probe.handle_frame(fr.data, fr.linktype, 0, 0, fr.wire_len)
    assert (probe.stats.packets, probe.stats.octets) == (1, 40 + 150_000)


def _inputs(data: bytes, ifindex: InputIfindex | None = None,
            config: Config = Config()) -> dict[int, int]:
    """Packets per input ifindex of the records an offline run exports."""
    got: dict[int, int] = {}

    def send(d) -> None:
        for r in d.records:
            got[r.input] = got.get(r.input, 0) + r.packets

    run_file(io.BytesIO(data), lambda start: Probe(config, start_ms=start), send, ifindex)
    return got


TWO_INTERFACES = pcapng_bytes(
    [(DLT_EN10MB, "eth0", None), (DLT_EN10MB, "eth1", 9), (DLT_EN10MB, None, None)],
    [(0, T0, ETH + TCP_PKT, 14 + len(TCP_PKT))]
    + [(i, T0 + 1000 * i, f, len(f)) for i in (1, 1, 2)
       for f in [bytes(Ether() / IP(src="10.9.9.9") / UDP())]])


def test_each_pcapng_interface_gives_its_packets_their_own_ifindex():
    assert _inputs(TWO_INTERFACES) == {0: 1, 1: 2, 2: 1}  # by interface id
    named = InputIfindex(names={"eth0": 5, "eth1": 7, "eth9": 3})
    assert _inputs(TWO_INTERFACES, named) == {5: 1, 7: 2, 2: 1} and named.unused() == ["eth9"]
    assert named.warnings() == ["--ifindex eth9=...: no packet came from an interface of that name"]
    assert _inputs(TWO_INTERFACES, InputIfindex(fixed=4)) == {4: 4}  # `--ifindex N`: every packet


def _router_any(linktype: int) -> bytes:
    """`tcpdump -i any` on a router forwarding h1 -> h2 (in on ifindex 2, out on 3)
    and back: every packet twice, arriving and leaving."""
    there = bytes(IP(src="10.0.1.2", dst="10.0.2.2") / UDP(sport=5, dport=6) / Raw(b"x" * 20))
    back = bytes(IP(src="10.0.2.2", dst="10.0.1.2") / UDP(sport=6, dport=5) / Raw(b"x" * 20))
    if linktype == DLT_LINUX_SLL2:
        frames = [sll2(there, 2), sll2(there, 3, OUTGOING), sll2(back, 3), sll2(back, 2, OUTGOING)]
    else:  # SLL (v1) does not say which interface
        frames = [sll(there), sll(there, OUTGOING), sll(back), sll(back, OUTGOING)]
    return pcapng_bytes([(linktype, "any", None)],
                        [(0, T0 + 10**6 * i, f, len(f)) for i, f in enumerate(frames * 5)])


def _host_any(linktype: int) -> bytes:
    """`tcpdump -i any` on a host (10.0.1.2) asking 10.0.2.2 on eth0 (ifindex 2):
    each request once, outgoing; each answer once, incoming."""
    ask = bytes(IP(src="10.0.1.2", dst="10.0.2.2") / UDP(sport=5, dport=6) / Raw(b"x" * 20))
    answer = bytes(IP(src="10.0.2.2", dst="10.0.1.2") / UDP(sport=6, dport=5) / Raw(b"x" * 30))
    if linktype == DLT_LINUX_SLL2:
        frames = [sll2(ask, 2, OUTGOING), sll2(answer, 2)]
    else:
        frames = [sll(ask, OUTGOING), sll(answer)]
    return pcapng_bytes([(linktype, "any", None)],
                        [(0, T0 + 10**6 * i, f, len(f)) for i, f in enumerate(frames * 5)])


@pytest.mark.parametrize("linktype", [DLT_LINUX_SLL, DLT_LINUX_SLL2])
def test_tcpdump_any_of_a_host_counts_what_it_sent_with_direction_both(linktype):
    both = Config(outgoing=True)
    assert _inputs(_host_any(linktype)) == {2 if linktype == DLT_LINUX_SLL2 else 0: 5}
    assert _inputs(_host_any(linktype), config=both) == {
        2 if linktype == DLT_LINUX_SLL2 else 0: 10}  # SLL2: the interface it left by
    assert _inputs(_router_any(linktype), config=both) == {  # a router's: every packet twice
        **({2: 10, 3: 10} if linktype == DLT_LINUX_SLL2 else {0: 20})}


def test_tcpdump_any_of_a_router_counts_each_forwarded_packet_once_at_its_input():
    assert _inputs(_router_any(DLT_LINUX_SLL2)) == {2: 5, 3: 5}
    assert _inputs(_router_any(DLT_LINUX_SLL2), InputIfindex(fixed=1)) == {1: 10}  # still once each
    assert _inputs(_router_any(DLT_LINUX_SLL)) == {0: 10}
    named = InputIfindex(names={"any": 4})  # SLL2 frames name their interface themselves
    assert _inputs(_router_any(DLT_LINUX_SLL2), named) == {2: 5, 3: 5} and named.unused() == ["any"]
    assert named.warnings() == ["--ifindex any=...: interface any holds SLL2 frames, whose header "
                                "gives each packet its own index"]


# -- the command line, on both engines ---------------------------------------------

def _cli(tmp_path, capsys, data: bytes, engine: str, *options: str):
    path = tmp_path / "field.cap"
    path.write_bytes(data)
    stats = tmp_path / "stats.json"
    assert main(["-r", str(path), "--print", "--engine", engine, "--stats-file", str(stats),
                 *options]) == 0
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], json.loads(stats.read_text()), err


ENGINES = ["reference", "fast"]


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_tcpdump_any_of_a_router(tmp_path, capsys, engine):
    records, stats, _ = _cli(tmp_path, capsys, _router_any(DLT_LINUX_SLL2), engine)
    assert sorted((r["input"], r["packets"], r["octets"]) for r in records) == [(2, 5, 240), (3, 5, 240)]
    assert stats["skipped"] == {"outgoing": 10}


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_tcpdump_any_of_a_host_with_direction_both(tmp_path, capsys, engine):
    records, stats, err = _cli(tmp_path, capsys, _host_any(DLT_LINUX_SLL2), engine)
    assert [(r["src"], r["packets"]) for r in records] == [("10.0.2.2", 5)]
    assert stats["skipped"] == {"outgoing": 5}
    assert "skipped: 5 (outgoing=5)" in err  # --print: the summary goes to stderr
    assert err.splitlines()[-1] == (
        "python -m probe: note: 5 frames the capturing host sent were skipped (outgoing: on a "
        "router, second copies of what it forwarded); --direction both counts them")
    records, stats, err = _cli(tmp_path, capsys, _host_any(DLT_LINUX_SLL2), engine,
                               "--direction", "both")
    assert sorted((r["src"], r["input"], r["packets"]) for r in records) == [
        ("10.0.1.2", 2, 5), ("10.0.2.2", 2, 5)]
    assert stats["skipped"] == {} and "skipped: 0" in err and "note" not in err


def test_cli_direction_both_is_offline_only(capsys):
    with pytest.raises(SystemExit):
        main(["-i", "lo", "--print", "--direction", "both"])
    assert "--direction both is offline only" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_ifindex_names_and_the_warning_for_a_name_no_packet_came_from(tmp_path, capsys, engine):
    records, _, err = _cli(tmp_path, capsys, TWO_INTERFACES, engine,
                           "--ifindex", "eth1=7", "--ifindex", "eth9=3")
    assert sorted((r["input"], r["packets"]) for r in records) == [(0, 1), (2, 1), (7, 2)]
    assert err.splitlines()[-1] == ("python -m probe: warning: --ifindex eth9=...: no packet came "
                                    "from an interface of that name")
    records, _, err = _cli(tmp_path, capsys, TWO_INTERFACES, engine, "--ifindex", "6")
    assert {r["input"] for r in records} == {6} and "warning" not in err


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_cli_big_tcp_in_a_capture_cut_to_a_snap_length(tmp_path, capsys, engine, fmt):
    frames = [ETH + big_tcp(n) for n in (70_000, 150_000, GSO_MAX_SIZE)]  # the last: too big
    cut = [(T0 + i * 10**6, f[:96], len(f)) for i, f in enumerate(frames)]
    data = pcap_bytes(cut) if fmt == "pcap" else pcapng_bytes(
        [(DLT_EN10MB, None, None)], [(0, *c) for c in cut])
    records, stats, _ = _cli(tmp_path, capsys, data, engine)
    assert [(r["packets"], r["octets"]) for r in records] == [(2, 40 + 70_000 + 40 + 150_000)]
    assert stats["skipped"] == {"bad_total_length": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_big_tcp_in_udp_tunnels(tmp_path, capsys, engine):
    for name, (sport, dport, octets) in TUNNELS.items():
        records, stats, _ = _cli(tmp_path, capsys, (CAPTURES / name).read_bytes(), engine)
        assert [(r["proto"], r["sport"], r["dport"], r["packets"], r["octets"]) for r in records] == [
            (17, sport, dport, 1, octets)]
        assert stats["skipped"] == {}
