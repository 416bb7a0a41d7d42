"""`python -m testbed collect --read CAPTURE`: export datagrams out of a capture, in
every link type, over IPv4 and IPv6, in IP fragments; the same records, findings
and summary as the collector gets them in-process."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from nf9_build import data, ipfix, ipfix_templates, record, v9, v9_templates
from nfv5_build import datagram
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import CookedLinux, Dot1Q, Ether
from scapy.packet import Raw

from testbed.collector import Collector, load_jsonl
from testbed.collector.capture import Reader
from testbed.pcap import write_pcap, write_pcapng

ROOT = Path(__file__).resolve().parents[2]
T0_NS = 1_790_000_000_123_000_000
TMPL = [(8, 4), (12, 4), (2, 4), (1, 4), (7, 2), (11, 2), (4, 1), (152, 8), (153, 8)]


def flows(n: int, base: int = 0) -> list[bytes]:
    return [record(TMPL, {8: f"10.0.{i % 250}.1", 12: "10.9.9.9", 2: i + 1, 1: 100 * (i + 1), 7: 1000 + i,
                          11: 53, 4: 17, 152: 1_790_000_000_000, 153: 1_790_000_000_100}) for i in range(base, base + n)]


def exports() -> list[bytes]:
    """v5, v9 and IPFIX (one big enough to need IP fragments) from one exporter."""
    big = ipfix([ipfix_templates((256, TMPL)), data(256, flows(200))], export_s=1_790_000_000)  # 6,9 KB
    return [datagram(3, unix_ms=1_790_000_000_000),
            v9([v9_templates((300, TMPL)), data(300, flows(5))], unix_secs=1_790_000_000, count=6),
            big, ipfix([data(256, flows(3, 200))], seq=200, export_s=1_790_000_000)]


def run_read(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", "collect", "--read", str(path), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def in_process(payloads, times_ms, numbers, source=("192.0.2.7", 4739)) -> Collector:
    c = Collector()
    for p, t, n in zip(payloads, times_ms, numbers):
        c.receive(p, source, t, n)
    c.finish(times_ms[-1])
    return c


def same(read_result, c: Collector) -> None:
    mine = c.result()
    assert read_result.records == mine.records
    assert read_result.datagrams == mine.datagrams
    assert read_result.templates == mine.templates and read_result.options == mine.options
    assert read_result.summary.sequence == mine.summary.sequence
    assert read_result.summary.findings == mine.summary.findings


@pytest.mark.parametrize("linktype, frame", [
    (1, lambda ip: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=7) / ip),
    (113, lambda ip: CookedLinux(proto=0x0800 if ip.version == 4 else 0x86DD) / ip),
    (101, lambda ip: ip),
])
@pytest.mark.parametrize("family", [4, 6])
def test_the_same_records_as_in_process_in_every_link_type(tmp_path, linktype, frame, family):
    payloads = exports()
    packets, times, numbers = [], [], []
    for i, p in enumerate(payloads):
        ip = (IP(src="192.0.2.7", dst="192.0.2.9") if family == 4 else IPv6(src="2001:db8::7", dst="2001:db8::9"))
        pkt = ip / UDP(sport=4739, dport=2055) / Raw(p)
        pieces = (fragment(pkt, 1400) if family == 4 else fragment6(IPv6(src=ip.src, dst=ip.dst) /
                  IPv6ExtHdrFragment(id=77 + i) / UDP(sport=4739, dport=2055) / Raw(p), 1400)) if len(p) > 1400 else [pkt]
        for piece in pieces:
            packets.append((T0_NS + i * 1_000_000, bytes(frame(piece))))
        times.append((T0_NS + i * 1_000_000) // 1_000_000)
        numbers.append(len(packets))
    cap = tmp_path / "exports.pcap"
    with open(cap, "wb") as f:
        write_pcap(f, linktype, packets)
    jsonl = tmp_path / "read.jsonl"
    done = run_read(cap, "--jsonl", str(jsonl))
    assert done.returncode == 0, done.stderr
    source = ("192.0.2.7" if family == 4 else "2001:db8::7", 4739)
    same(load_jsonl(jsonl), in_process(payloads, times, numbers, source))
    assert "reassembled datagrams" in done.stdout and "211 records in 4 datagrams" in done.stdout


def test_pcapng_sll2_and_the_port_filter(tmp_path):
    payloads = exports()[:2]
    sll2 = b"\x08\x00\x00\x00\x00\x00\x00\x03\x00\x01\x00\x06" + b"\0" * 8  # protocol, ifindex 3, ...
    frames = [(T0_NS + i, sll2 + bytes(IP(src="192.0.2.7", dst="192.0.2.9") / UDP(sport=9, dport=port) / Raw(p)))
              for i, (p, port) in enumerate(zip(payloads, (2055, 9995)))]
    dns = (T0_NS + 5, sll2 + bytes(IP() / UDP(sport=53, dport=9995) / Raw(b"\x12\x34\x01\x00")))
    cap = tmp_path / "x.pcapng"
    with open(cap, "wb") as f:
        write_pcapng(f, 276, ["any"], [(t, 0, d) for t, d in frames + [dns]])
    r = Reader()
    got = list(r.datagrams(io.BytesIO(cap.read_bytes())))
    assert [d.destination[1] for d in got] == [2055, 9995] and r.counts == {"UDP that is not NetFlow v5/v9/IPFIX": 1}
    r = Reader({9995})
    assert [d.number for d in r.datagrams(io.BytesIO(cap.read_bytes()))] == [2, 3]
    assert r.counts == {"UDP to another port": 1}
    done = run_read(cap, "--port", "9995")
    assert done.returncode == 0 and "1 malformed" in done.stdout and "too-short" in done.stdout


def test_fragments_of_a_datagram_never_whole_are_counted_not_fed():
    p = exports()[2]
    pieces = fragment(IP(src="192.0.2.7", dst="192.0.2.9", id=5) / UDP(sport=1, dport=2) / Raw(p), 1400)
    other = fragment(IP(src="192.0.2.7", dst="192.0.2.9", id=6) / UDP(sport=1, dport=2) / Raw(p), 1400)
    packets = [(T0_NS + i, bytes(x)) for i, x in enumerate(pieces[:2] + other[::-1] + pieces[3:])]
    f = io.BytesIO()
    write_pcap(f, 101, packets)
    r = Reader()
    got = list(r.datagrams(io.BytesIO(f.getvalue())))
    assert [len(d.payload) for d in got] == [len(p)]  # the other one, its pieces in reverse order
    assert r.fragments == {"reassembled datagrams": 1}
    assert r.counts == {"IP fragments of a datagram never whole (incomplete at the end of the capture)": 1}


def test_an_unreadable_capture_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    done = run_read(bad)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not a pcap" in done.stderr
    done = run_read(tmp_path / "missing.pcap")
    assert done.returncode == 2 and "No such file" in done.stderr
    done = subprocess.run([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0", "--port", "5"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "--port goes with --read" in done.stderr
