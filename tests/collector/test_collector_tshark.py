"""Cross-check the referee with Wireshark's NetFlow dissector (tshark), a
decoder nobody here wrote: the same capture, the same values, field by field."""
import random
import shutil
import subprocess

import pytest
from nfv5_build import UNIX_MS, datagram, record
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from testbed.collector import Collector

pytestmark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")

RECORD_FIELDS = [  # (tshark field, collector field, conversion)
    ("cflow.srcaddr", "src", str), ("cflow.dstaddr", "dst", str), ("cflow.nexthop", "next_hop", str),
    ("cflow.inputint", "input", int), ("cflow.outputint", "output", int),
    ("cflow.packets", "packets", int), ("cflow.octets", "octets", int),
    ("cflow.srcport", "sport", int), ("cflow.dstport", "dport", int),
    ("cflow.tcpflags", "tcp_flags", lambda v: int(v, 16)), ("cflow.protocol", "proto", int),
    ("cflow.tos", "tos", lambda v: int(v, 16)), ("cflow.srcmask", "src_mask", int),
    ("cflow.dstmask", "dst_mask", int),
    ("cflow.timestart", "first", lambda v: round(float(v) * 1000)),
    ("cflow.timeend", "last", lambda v: round(float(v) * 1000)),
]
HEADER_FIELDS = [("cflow.count", "count"), ("cflow.sequence", "flow_sequence"),
                 ("cflow.sysuptime", None)]


def _datagrams(rng: random.Random) -> list[bytes]:
    out, seq = [], 0
    for _ in range(8):
        n = rng.randint(1, 30)
        uptime = rng.randint(100_000, 2**31)
        recs = []
        for _ in range(n):
            last = uptime - rng.randint(0, 50_000)
            recs.append(record(
                src=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                dst=f"192.0.2.{rng.randint(1, 254)}", next_hop=f"10.0.9.{rng.randint(0, 254)}",
                input=rng.randint(0, 65535), output=rng.randint(0, 65535),
                packets=rng.randint(1, 2**20), octets=rng.randint(2**21, 2**32 - 1),
                first=last - rng.randint(0, 40_000), last=last, sport=rng.randint(0, 65535),
                dport=rng.randint(0, 65535), tcp_flags=rng.randint(0, 63), proto=6,
                tos=rng.randint(0, 255), src_mask=rng.randint(0, 32), dst_mask=rng.randint(0, 32)))
        out.append(datagram(recs, seq=seq, uptime=uptime))
        seq += n
    return out


def _tshark(pcap) -> list[dict]:
    names = [f for f, _ in HEADER_FIELDS] + [f for f, _, _ in RECORD_FIELDS]
    argv = ["tshark", "-r", str(pcap), "-d", "udp.port==2055,cflow", "-T", "fields",
            "-E", "separator=\t", "-E", "aggregator=;"]
    for n in names:
        argv += ["-e", n]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [dict(zip(names, (v.split(";") for v in line.split("\t")))) for line in out.splitlines()]


def test_tshark_and_the_collector_read_the_same_values(tmp_path):
    data = _datagrams(random.Random(7))
    pcap = tmp_path / "export.pcap"
    wrpcap(str(pcap), [Ether() / IP(src="10.0.9.1", dst="10.0.9.2") / UDP(sport=40000, dport=2055)
                       / Raw(d) for d in data])
    theirs = _tshark(pcap)
    collector = Collector()
    for i, d in enumerate(data):
        collector.receive(d, ("10.0.9.1", 40000), UNIX_MS + i)
    ours = collector.result()
    assert len(theirs) == len(ours.datagrams) == len(data)
    i = 0
    for row, dg in zip(theirs, ours.datagrams):
        assert int(row["cflow.count"][0]) == dg.header.count
        assert int(row["cflow.sequence"][0]) == dg.header.flow_sequence
        assert round(float(row["cflow.sysuptime"][0]) * 1000) == dg.header.sys_uptime
        for k in range(dg.header.count):
            rec = ours.records[i + k]
            for field, name, conv in RECORD_FIELDS:
                assert conv(row[field][k]) == getattr(rec, name), (field, k, rec)
        i += dg.header.count
    assert i == len(ours.records)
