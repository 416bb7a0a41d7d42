"""A deterministic synthetic capture, and its ground truth.

    python -m probe.bench.gen OUT.pcap --packets N --flows F --seed S [--truth FILE.json]

Classic pcap (microseconds, DLT_EN10MB, snaplen 64: headers kept, the IP total
length tells the real size, as `tcpdump -s 64` would write). About 75% TCP,
20% UDP, 5% ICMP flows; flow sizes heavy-tailed (discrete Pareto: most flows
1-3 packets, a few with thousands); flows start at random times over
`duration_s` and interleave. A TCP flow opens with SYN; most of those with
more than one packet end with FIN (or RST), and nothing follows it.

Promises the tests rely on: every flow has its own key (5-tuple + tos), no
gap inside a flow exceeds MAX_GAP_US (below the 15 s inactive timeout), and
the file spans less than the 1800 s active timeout; so a probe with default
timeouts exports exactly one record per key, with the truth's packets/octets.
The same (packets, flows, seed, duration) always gives the same bytes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
from array import array
from typing import NamedTuple

TCP, UDP, ICMP = 6, 17, 1
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
BASE_US = 1_700_000_000 * 1_000_000  # the file starts here (unix time)
MAX_GAP_US = 10_000_000
SNAPLEN = 64
PARETO_ALPHA = 1.1
VERSION = 1  # bump when the output changes (invalidates cached files)

PCAP_HEADER = struct.Struct("<IHHiIII").pack(0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1)
REC = struct.Struct("<IIII")  # ts_sec, ts_usec, caplen, origlen
# Ethernet addresses + type, IPv4 header, then the L4 header
_ETH_IP = "!12sHBBHHHBBHII"
TCP_HDR = struct.Struct(_ETH_IP + "HHIIHHHH")  # 54 bytes
UDP_HDR = struct.Struct(_ETH_IP + "HHHH")  # 42
ICMP_HDR = struct.Struct(_ETH_IP + "BBHHH")  # 42
PAD = bytes(SNAPLEN)
SERVICES = {TCP: (80, 443, 443, 443, 22, 25, 993, 8080, 3306, 5432),
            UDP: (53, 53, 123, 443, 514, 161, 5060, 4789)}
ICMP_TYPES = (0x0800, 0x0800, 0x0000, 0x0303, 0x0B00, 0x0301)  # type*256 + code
TOS = (0, 0, 0, 0, 0, 0, 0, 0x10, 0x28, 0xB8)


class Key(NamedTuple):
    """What a NetFlow v5 record keys on (input ifindex aside). ICMP: dport = type*256+code."""

    src: int
    dst: int
    sport: int
    dport: int
    proto: int
    tos: int


class Count(NamedTuple):
    packets: int
    octets: int  # sum of IP total lengths
    tcp_flags: int  # OR of all packets' flags
    first_us: int  # unix microseconds of the flow's first and last packet
    last_us: int


class Truth(NamedTuple):
    packets: int
    octets: int
    flows: dict[Key, Count]
    first_us: int  # unix microseconds of the first and last packet
    last_us: int

    def to_json(self) -> dict:
        return {"packets": self.packets, "octets": self.octets, "flows": len(self.flows),
                "first_us": self.first_us, "last_us": self.last_us,
                "keys": [[*k, *c] for k, c in self.flows.items()]}

    @classmethod
    def from_json(cls, d: dict) -> "Truth":
        flows = {Key(*row[:6]): Count(*row[6:]) for row in d["keys"]}
        return cls(d["packets"], d["octets"], flows, d["first_us"], d["last_us"])


def flow_sizes(rng: random.Random, packets: int, flows: int) -> list[int]:
    """`flows` sizes >= 1, heavy-tailed, summing to exactly `packets`."""
    flows = min(flows, packets)
    if flows <= 0:
        return []
    cap = max(1, packets // 50)
    raw = [min(cap, int(rng.paretovariate(PARETO_ALPHA))) for _ in range(flows)]
    excess = sum(raw) - flows
    if excess == 0:
        raw[0] += packets - flows
        return raw
    k = (packets - flows) / excess  # scale the part above 1, keep the shape
    scaled = [1 + (r - 1) * k for r in raw]
    sizes = [int(s) for s in scaled]
    short = packets - sum(sizes)
    by_fraction = sorted(range(flows), key=lambda i: sizes[i] - scaled[i])[:short]
    for i in by_fraction:
        sizes[i] += 1
    return sizes


def _keys(rng: random.Random, n: int) -> list[Key]:
    servers = [(172 << 24) | (16 << 16) | rng.getrandbits(16) for _ in range(max(16, n // 50))]
    seen: set[Key] = set()
    out = []
    while len(out) < n:
        r = rng.random()
        proto = TCP if r < 0.75 else UDP if r < 0.95 else ICMP
        src = (10 << 24) | rng.getrandbits(24)
        dst = rng.choice(servers)
        if proto == ICMP:
            sport, dport = 0, rng.choice(ICMP_TYPES)
        else:
            sport = rng.randrange(1024, 65536)
            dport = rng.choice(SERVICES[proto]) if rng.random() < 0.8 else rng.randrange(1, 65536)
        key = Key(src, dst, sport, dport, proto, rng.choice(TOS))
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _schedule(rng: random.Random, sizes: list[int], duration_us: int) -> tuple[list[int], int]:
    """Sort keys of every packet: (time << shift) | event number, in time order.
    Event numbers run flow by flow, so flow f's packet i is base[f] + i."""
    shift = max(1, sum(sizes).bit_length())
    events = []
    append = events.append
    expo = rng.expovariate
    e = 0
    for n in sizes:
        start = rng.randrange(duration_us)
        mean = rng.choice((1_000, 20_000, 300_000, 2_000_000))
        mean = max(10, min(mean, (duration_us - start) // n))
        t = start
        for _ in range(n):
            append((t << shift) | e)
            e += 1
            t += min(MAX_GAP_US, 1 + int(expo(1.0 / mean)))
    events.sort()
    return events, shift


def generate(out, packets: int, flows: int, seed: int, duration_s: float = 90.0) -> Truth:
    """Write the capture to the binary file `out`; return its ground truth."""
    rng = random.Random(seed)
    sizes = flow_sizes(rng, packets, flows)
    keys = _keys(rng, len(sizes))
    events, shift = _schedule(rng, sizes, int(duration_s * 1_000_000))
    nflows = len(sizes)
    flow_of = array("I")
    base = array("I")
    for f, n in enumerate(sizes):
        base.append(len(flow_of))
        flow_of.extend([f] * n)
    finish = [k.proto == TCP and n > 1 and rng.random() < 0.8 for k, n in zip(keys, sizes)]
    macs = [_macs(rng.getrandbits(96)) for _ in range(nflows)]
    isn = [rng.getrandbits(32) for _ in range(nflows)]
    ident = [rng.getrandbits(16) for _ in range(nflows)]
    csum0 = [_csum_base(k) for k in keys]
    octets = [0] * nflows
    flags_or = [0] * nflows
    firsts = [0] * nflows
    lasts = [0] * nflows
    emask = (1 << shift) - 1
    rand, randrange = rng.random, rng.randrange
    rec, tcp, udp, icmp = REC.pack, TCP_HDR.pack, UDP_HDR.pack, ICMP_HDR.pack

    out.write(PCAP_HEADER)
    chunk: list[bytes] = []
    first_us = last_us = BASE_US
    for i, ev in enumerate(events):
        e = ev & emask
        t = BASE_US + (ev >> shift)
        if i == 0:
            first_us = t
        f = flow_of[e]
        nth = e - base[f]
        k = keys[f]
        proto = k.proto
        r = rand()
        if proto == TCP:
            if nth == 0:
                fl, total = SYN, 40
            elif nth == sizes[f] - 1 and finish[f]:
                fl, total = (RST | ACK) if r < 0.1 else (FIN | ACK), 40
            else:
                fl = PSH | ACK if r < 0.5 else ACK
                total = 40 if r < 0.35 else 1500 if r < 0.75 else randrange(41, 1500)
            flags_or[f] |= fl
        elif proto == UDP:
            total = randrange(40, 200) if r < 0.6 else randrange(200, 1501)
        else:
            total = 84 if r < 0.8 else randrange(40, 1501)
        idn = (ident[f] + nth) & 0xFFFF
        s = csum0[f] + total + idn
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        ip = (macs[f], 0x0800, 0x45, k.tos, total, idn, 0x4000, 64, proto, ~s & 0xFFFF,
              k.src, k.dst)
        if proto == TCP:
            seq = (isn[f] + nth * 1460) & 0xFFFFFFFF
            hdr = tcp(*ip, k.sport, k.dport, seq, 0, 0x5000 | fl, 65535, 0, 0)
        elif proto == UDP:
            hdr = udp(*ip, k.sport, k.dport, total - 20, 0)
        else:
            hdr = icmp(*ip, k.dport >> 8, k.dport & 255, 0, f & 0xFFFF, nth & 0xFFFF)
        caplen = min(14 + total, SNAPLEN)
        chunk.append(rec(t // 1_000_000, t % 1_000_000, caplen, 14 + total))
        chunk.append(hdr)
        if caplen > len(hdr):
            chunk.append(PAD[:caplen - len(hdr)])
        octets[f] += total
        if nth == 0:
            firsts[f] = t
        lasts[f] = t
        if len(chunk) > 30_000:
            out.write(b"".join(chunk))
            chunk = []
        last_us = t
    out.write(b"".join(chunk))
    counts = {k: Count(*c) for k, *c in zip(keys, sizes, octets, flags_or, firsts, lasts)}
    return Truth(sum(sizes), sum(octets), counts, first_us, last_us)


def _macs(bits: int) -> bytes:
    """Destination and source MAC: unicast, locally administered."""
    b = bytearray(bits.to_bytes(12, "big"))
    b[0] = (b[0] & 0xFC) | 0x02
    b[6] = (b[6] & 0xFC) | 0x02
    return bytes(b)


def _csum_base(k: Key) -> int:
    """IPv4 header checksum sum of the words that stay the same within a flow."""
    return ((0x45 << 8) | k.tos) + 0x4000 + ((64 << 8) | k.proto) + \
        (k.src >> 16) + (k.src & 0xFFFF) + (k.dst >> 16) + (k.dst & 0xFFFF)


def write(path: str, packets: int, flows: int, seed: int, duration_s: float = 90.0,
          truth_path: str | None = None) -> Truth:
    with open(path, "wb") as f:
        truth = generate(f, packets, flows, seed, duration_s)
    if truth_path:
        with open(truth_path, "w") as f:
            json.dump(truth.to_json(), f, separators=(",", ":"))
    return truth


def cached(packets: int, flows: int, seed: int, directory: str = "/tmp") -> tuple[str, Truth]:
    """The capture for these parameters, generated once and kept in `directory`."""
    stem = os.path.join(directory, f"probe-bench-v{VERSION}-s{seed}-p{packets}-f{flows}")
    path, truth_path = stem + ".pcap", stem + ".json"
    if os.path.exists(path) and os.path.exists(truth_path):
        with open(truth_path) as f:
            return path, Truth.from_json(json.load(f))
    tmp = f"{stem}.{os.getpid()}"
    truth = write(tmp + ".pcap", packets, flows, seed, truth_path=tmp + ".json")
    os.replace(tmp + ".pcap", path)  # the pcap last-but-one, the truth last: both or neither
    os.replace(tmp + ".json", truth_path)
    return path, truth


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m probe.bench.gen",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("out", metavar="OUT.pcap")
    p.add_argument("--packets", type=int, default=1_000_000)
    p.add_argument("--flows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=90.0, metavar="S")
    p.add_argument("--truth", metavar="FILE", help="write the ground truth here as JSON")
    args = p.parse_args(argv)
    if args.packets < 0 or args.flows < 0 or not 0 < args.duration <= 1000:
        p.error("packets and flows must be >= 0, duration in (0, 1000] s")
    truth = write(args.out, args.packets, args.flows, args.seed, args.duration, args.truth)
    print(f"{args.out}: {truth.packets} packets, {truth.octets} octets, "
          f"{len(truth.flows)} flows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
