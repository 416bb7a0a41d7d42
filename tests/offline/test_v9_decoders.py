"""`--export v9` read by decoders nobody here wrote: Wireshark's (tshark, on a
capture of the datagrams) and nfdump's (nfcapd listening on 127.0.0.1),
record by record against what the probe says it sent (`--print`, the records
file). Routes and an input ifindex fill every field of the template; the
template rides again every 10 datagrams.

Two readings of theirs, not errors of ours: an uptime of 0 (a flow of the
probe's very first millisecond: offline, the capture's first packet) Wireshark
shows as an absolute time, the epoch; nfdump 1.7 takes a LAST_SWITCHED of 0 for
"no time" and stores both times as the epoch."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from nfcapd_run import loopback_nfcapd
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

pytestmark = pytest.mark.skipif(not (shutil.which("tshark") and shutil.which("nfcapd")
                                     and shutil.which("nfdump")),
                                reason="needs tshark, nfcapd and nfdump")

ROUTES = ["10.0.0.0/8,dev=2", "172.16.0.0/18,dev=3", "172.16.64.0/18,via=10.9.9.1,dev=4",
          "0.0.0.0/0,via=192.0.2.1,dev=7"]  # the capture: 10/8 -> 172.16/16
SINK_PORT = 2055  # where the capture says the datagrams went (tshark decodes that port)
RECORD_FIELDS = [  # (tshark field, --print field, conversion)
    ("cflow.srcaddr", "src", str), ("cflow.dstaddr", "dst", str),
    ("cflow.nexthop", "next_hop", str), ("cflow.inputint", "input", int),
    ("cflow.outputint", "output", int), ("cflow.packets", "packets", int),
    ("cflow.octets", "octets", int), ("cflow.timestart", "first", None),
    ("cflow.timeend", "last", None), ("cflow.srcport", "sport", int),
    ("cflow.dstport", "dport", int), ("cflow.tcpflags", "tcp_flags", lambda v: int(v, 16)),
    ("cflow.protocol", "proto", int), ("cflow.tos", "tos", lambda v: int(v, 16)),
    ("cflow.srcmask", "src_mask", int), ("cflow.dstmask", "dst_mask", int),
    ("cflow.srcas", "src_as", int), ("cflow.dstas", "dst_as", int),
    ("cflow.icmp_type_code_ipv4", "icmp_type", lambda v: int(v, 16)),
]
EPOCH = "Jan  1, 1970 00:00:00.000000000 UTC"
# the template, as RFC 3954 section 8 numbers the fields: (type, length)
TEMPLATE = [(8, 4), (12, 4), (15, 4), (10, 2), (14, 2), (2, 4), (1, 4), (22, 4), (21, 4),
            (7, 2), (11, 2), (6, 1), (4, 1), (5, 1), (16, 4), (17, 4), (9, 1), (13, 1), (32, 2)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, small_capture):
    """Run the probe once: (datagrams as sent, its --print records, its records
    file, nfcapd's result, nfdump's records)."""
    tmp = tmp_path_factory.mktemp("v9")
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    records_file = tmp / "records.jsonl"
    argv = [sys.executable, "-m", "probe", "-r", small_capture[0], "--export", "v9",
            "--template-packets", "10", "--engine-type", "1", "--engine-id", "2",
            "--ifindex", "5", "--print", "--records-file", str(records_file),
            "-n", f"127.0.0.1:{sink.getsockname()[1]}"]
    for route in ROUTES:
        argv += ["--route", route]
    with loopback_nfcapd(str(tmp)) as nfcapd:
        done = subprocess.run([*argv, "-n", f"127.0.0.1:{nfcapd.port}"], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    datagrams = []
    while True:
        try:
            datagrams.append(sink.recv(65535))
        except BlockingIOError:
            break
    sink.close()
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    stored = [json.loads(line) for line in records_file.read_text().splitlines()]
    nfdump = json.loads(subprocess.run(["nfdump", "-R", str(tmp / "flows"), "-o", "json"],
                                       capture_output=True, text=True, check=True,
                                       env={**os.environ, "TZ": "UTC"}).stdout)
    return tmp, datagrams, printed, stored, nfcapd.result, nfdump, done.stderr


def _flat(tree: dict) -> dict:
    out = {}
    for k, v in tree.items():
        out.update(_flat(v) if isinstance(v, dict) else {k: v})
    return out


def _uptime_ms(flow: dict, name: str) -> int:
    """A FIRST/LAST_SWITCHED as tshark shows it: seconds of uptime; a value of
    0 it shows as an absolute time instead (the epoch), under cflow.abs*."""
    if name in flow:
        return round(float(flow[name]) * 1000)
    assert flow[name.replace("cflow.", "cflow.abs")] == EPOCH, flow
    return 0


def _tshark(pcap) -> list[tuple[dict, list | None, list[dict]]]:
    """Per datagram: (its header fields, its template's field types or None,
    its records by --print's names)."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-d", f"udp.port=={SINK_PORT},cflow",
                          "-T", "json"], capture_output=True, text=True, check=True).stdout
    datagrams = []
    for packet in json.loads(out):
        layers = packet["_source"]["layers"]
        assert "_ws.malformed" not in layers and "_ws.expert" not in json.dumps(layers), layers
        cflow = layers["cflow"]
        header = {k: v for k, v in _flat(cflow).items() if k in (
            "cflow.version", "cflow.count", "cflow.sequence", "cflow.source_id",
            "cflow.sysuptime", "cflow.unix_secs")}
        template, records = None, []
        for name, flowset in cflow.items():
            if not name.startswith("FlowSet"):
                continue
            if flowset["cflow.flowset_id"] == "0":
                (tree,) = [v for k, v in flowset.items() if k.startswith("Template")]
                assert tree["cflow.template_id"] == "256"
                template = [(int(f["cflow.template_field_type"]),
                             int(f["cflow.template_field_length"]))
                            for k, f in tree.items() if k.startswith("Field")]
                continue
            assert flowset["cflow.flowset_id"] == "256"
            for k, v in flowset.items():
                if not k.startswith("Flow "):
                    continue
                flow = _flat(v)
                records.append({ours: conv(flow[f]) if conv else _uptime_ms(flow, f)
                                for f, ours, conv in RECORD_FIELDS})
        datagrams.append((header, template, records))
    return datagrams


def test_tshark_reads_every_datagram_and_record_as_we_sent_them(exported):
    tmp, datagrams, printed, _, _, _, _ = exported
    pcap = tmp / "export.pcap"
    wrpcap(str(pcap), [Ether() / IP(src="127.0.0.1", dst="127.0.0.1")
                       / UDP(sport=40000, dport=SINK_PORT) / Raw(d) for d in datagrams])
    decoded = _tshark(pcap)
    assert len(decoded) == len(datagrams) > 20
    records = []
    for seq, (header, template, recs) in enumerate(decoded):
        assert (header["cflow.version"], header["cflow.sequence"], header["cflow.source_id"]) == (
            "9", str(seq), str(1 << 8 | 2))  # sequence: export packets (RFC 3954 5.1)
        assert int(header["cflow.count"]) == len(recs) + (template is not None)
        assert template == (TEMPLATE if seq % 10 == 0 else None), seq  # every 10 datagrams
        records += recs
    assert all(r.pop("src_as") == r.pop("dst_as") == 0 for r in records)
    assert all(r.pop("icmp_type") == (r["dport"] if r["proto"] == 1 else 0) for r in records)
    assert records == [{k: r[k] for k in records[0]} for r in printed]
    assert {r["next_hop"] for r in records} >= {"0.0.0.0", "10.9.9.1", "192.0.2.1"}
    assert {r["output"] for r in records} >= {3, 4, 7} and {r["input"] for r in records} == {5}


def test_nfdump_stores_every_record_with_its_values_and_no_sequence_failure(exported):
    _, datagrams, printed, stored, nfcapd, nfdump, stats = exported
    flows = [r for r in nfdump if r.get("type") == "FLOW"]
    assert nfcapd.socket_drops == 0
    assert nfcapd.totals.sequence_failures == 0  # nfdump counts v9 sequences per packet
    assert (nfcapd.totals.flows, len(flows)) == (len(printed), len(printed))
    assert f"templates_sent: {len(range(0, len(datagrams), 10))}" in stats

    def key(src, dst, sport, dport, proto):
        return src, dst, sport, dport, proto

    mine = {}
    for r, s in zip(printed, stored):
        k = key(r["src"], r["dst"], r["sport"], r["dport"], r["proto"])
        assert k not in mine
        # the absolute times a collector computes: the header's unix time (whole
        # seconds in v9) less the record's age in uptime
        first = s["export_ms"] - ((s["sys_uptime"] - r["first"]) & 0xFFFFFFFF)
        last = s["export_ms"] - ((s["sys_uptime"] - r["last"]) & 0xFFFFFFFF)
        if r["last"] == 0:  # nfdump: no time
            first = last = 0
        mine[k] = (r["packets"], r["octets"], r["tos"], r["input"], r["output"], r["next_hop"],
                   r["src_mask"], r["dst_mask"], _flags(r["tcp_flags"]), first, last)
    theirs = {}
    for f in flows:
        if "icmp_type" in f:  # nfdump shows ICMP's type and code (our dst port), no ports
            k = key(f["src4_addr"], f["dst4_addr"], 0, f["icmp_type"] * 256 + f["icmp_code"],
                    f["proto"])
        else:
            k = key(f["src4_addr"], f["dst4_addr"], f.get("src_port", 0), f.get("dst_port", 0),
                    f["proto"])
        theirs[k] = (f["in_packets"], f["in_bytes"], f.get("src_tos", 0), f.get("input_snmp", 0),
                     f.get("output_snmp", 0), f.get("ip4_next_hop", "0.0.0.0"),
                     f.get("src_mask", 0), f.get("dst_mask", 0), f.get("tcp_flags", "........"),
                     _ms(f["first"]), _ms(f["last"]))
        assert (f.get("src_as", 0), f.get("dst_as", 0)) == (0, 0)
    assert theirs == mine


def _flags(bits: int) -> str:
    return "".join(ch if bits & (1 << (7 - i)) else "." for i, ch in enumerate("CEUAPRSF"))


def _ms(text: str) -> int:
    return round(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
                 .timestamp() * 1000)
