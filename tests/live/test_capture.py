"""AF_PACKET TPACKET_V3 capture: ring layout, ingress only, snap length, drops."""
from __future__ import annotations

import select
import struct
import time

import pytest

from probe.live import ring
from probe.constants import RING_BYTES, RING_MIN
from probe.live.capture import SNAPLEN, Capture, ring_geometry
from probe.options import ring_size

from .nslab import inside, packet_socket


def _pkt(ifindex, pkttype, frame, status=0, tci=0, tpid=0, sec=5, nsec=7, l2=14, wire=None):
    """One frame in the ring; `wire`: tp_len, its length on the wire (default: 100 more)."""
    mac = 80  # TPACKET_ALIGN(48 + sizeof sockaddr_ll) rounded up, as the kernel places it
    wire = len(frame) + 100 if wire is None else wire
    hdr = struct.pack("=IIIIIIHHIIH10xH", 0, sec, nsec, len(frame), wire,
                      status, mac, mac + l2, 0, tci, tpid, 17) + b"\x08\x00" + struct.pack(
                      "=iHBB", ifindex, 1, pkttype, 6)  # sll_protocol: network order
    body = hdr + bytes(mac - len(hdr)) + frame
    return body + bytes(-len(body) % 16)


def _block(packets):
    out, first = b"", 48
    for i, p in enumerate(packets):  # chain tp_next_offset
        nxt = len(p) if i < len(packets) - 1 else 0
        out += struct.pack("=I", nxt) + p[4:]
    return bytearray(struct.pack("=IIIIIQ", 3, 0, ring.TP_STATUS_USER, len(packets), first, 0)
                     + bytes(48 - 28) + out)


def test_parse_block_keeps_ingress_and_restores_vlan_tag():
    eth = bytes(range(12)) + b"\x08\x00" + b"IPHDR"
    blk = _block([_pkt(3, ring.PACKET_HOST, eth),
                  _pkt(4, ring.PACKET_OUTGOING, eth),
                  _pkt(5, ring.PACKET_BROADCAST, eth, ring.TP_STATUS_VLAN_VALID, tci=7, sec=6, nsec=1),
                  _pkt(6, ring.PACKET_HOST, b"IPHDR", l2=0)])  # a tun device: no link header
    out = []
    assert ring.block_ready(blk, 0)
    assert ring.parse_block(blk, 0, out) == 1
    n = len(eth) + 100  # tp_len: on the wire (the capture kept less)
    assert out == [(3, 5_000_000_007, eth, n),  # what was put back counts on the wire too
                   (5, 6_000_000_001, eth[:12] + b"\x81\x00\x00\x07" + eth[12:], n + 4),
                   (6, 5_000_000_007, bytes(12) + b"\x08\x00" + b"IPHDR", len(b"IPHDR") + 100 + 14)]
    ring.release_block(blk, 0)
    assert not ring.block_ready(blk, 0)


def test_ring_geometry_blocks_of_whole_pages():
    assert ring_geometry(RING_BYTES) == (256 << 10, 32)  # the standalone probe's, as before
    assert ring_geometry(1 << 20) == (128 << 10, 8)
    assert ring_geometry(RING_MIN) == (8 << 10, 8)
    assert ring_geometry(100 << 10) == (12 << 10, 9)  # rounded up to whole blocks
    assert ring_geometry(8192) == (4096, 2)


@pytest.mark.parametrize("text, size", [("1M", 1 << 20), ("512K", 512 << 10), ("512kib", 512 << 10),
                                        (1 << 20, 1 << 20), ("65536", RING_MIN), ("1024M", 1 << 30)])
def test_ring_size_reads_bytes_k_and_m(text, size):
    assert ring_size(text) == size


@pytest.mark.parametrize("text", ["1G", "2048M", "63K", "", "M", "1.5M", "-1M", True, None, 1.0, "1 M B"])
def test_ring_size_refuses_what_is_no_size_in_range(text):
    with pytest.raises(ValueError, match="expected a"):
        ring_size(text)


def _collect(cap, want, timeout=2.0):
    poller = select.poll()
    poller.register(cap.fileno(), select.POLLIN)
    got, end = [], time.monotonic() + timeout
    while len(got) < want and time.monotonic() < end:
        poller.poll(50)
        got += cap.read_batch()
    return got


def test_live_ingress_only_real_ifindex_snaplen(lab):
    r, h = lab.ns("r"), lab.ns("h")
    r1, r2, h1, h2 = (lab.ifname(s) for s in ("r1", "r2", "h1", "h2"))
    lab.veth(r, r1, h, h1)
    lab.veth(r, r2, h, h2)
    with inside(r):
        cap = Capture([r1], ring_bytes=RING_MIN)  # r2 is not named: not captured; the smallest ring
    try:
        big = bytes.fromhex(lab.mac(r, r1).replace(":", "")) + bytes(6) + b"\x08\x00" + bytes(1400)
        foreign = b"\x02" * 6 + big[6:]  # another host's unicast: not routed, not counted
        to_r1, to_r2 = packet_socket(h, h1), packet_socket(h, h2)
        from_r1 = packet_socket(r, r1)
        t0 = time.time_ns()
        for _ in range(20):
            to_r1.send(big)
            to_r2.send(big)
            from_r1.send(big)  # outgoing on r1: never ingress
            to_r1.send(foreign)
        got = _collect(cap, 20)
        latency = time.time_ns() - t0
        time.sleep(0.05)
        got += cap.read_batch()
        assert len(got) == 20
        assert {ifi for ifi, _, _, _ in got} == {lab.ifindex(r, r1)}
        assert all(len(f) == SNAPLEN and f == big[:SNAPLEN] and n == len(big) for _, _, f, n in got)
        assert all(t0 <= ts <= time.time_ns() for _, ts, _, _ in got)
        assert latency < 0.5e9  # a quiet link: the block is retired after a few ms
        assert cap.stats() == (20, 0)
    finally:
        cap.close()


def test_ring_overflow_shows_in_drops(lab):
    r, h = lab.ns("r"), lab.ns("h")
    r1, h1 = lab.ifname("r1"), lab.ifname("h1")
    lab.veth(r, r1, h, h1)
    with inside(r):
        cap = Capture([r1], ring_bytes=8192)  # 2 blocks of a page: ~2 x 20 frames
    try:
        frame = b"\xff" * 6 + bytes(6) + b"\x08\x00" + bytes(100)  # broadcast: ingress
        sock = packet_socket(h, h1)
        for _ in range(500):
            sock.send(frame)
        time.sleep(0.05)
        got = len(cap.read_batch())
        packets, drops = cap.stats()
        assert packets == 500 and drops > 0 and got + drops == 500
    finally:
        cap.close()
