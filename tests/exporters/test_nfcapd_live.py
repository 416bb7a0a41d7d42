"""nfcapd beside the referee, in the lab's collector namespace: every exporter sends each
datagram to both; nfdump's totals, per-exporter counts and records agree with the referee's."""
from __future__ import annotations

import shutil
import time
from collections import Counter

import pytest

from exporters import drive
from exporters.routedlab import C

from testbed.collector.nfcapd import Nfcapd
from testbed.exporters import kind

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not shutil.which("nfcapd"), reason="needs nfcapd (Debian package nfdump)")]
TOOLS = {"softflowd": "softflowd", "pmacctd": "pmacctd", "fprobe": "fprobe"}


@pytest.mark.parametrize("name", ["netflow-lab", "softflowd", "pmacctd", "fprobe"])
def test_nfcapd_agrees_with_the_referee(rl, tmp_path, name):
    if name in TOOLS and not shutil.which(TOOLS[name]):
        pytest.skip(f"needs {TOOLS[name]} (ci/setup installs it)")
    port, nf_port = drive.next_port(), drive.next_port()
    spec = drive.spec_for(rl, tmp_path, port)
    spec = drive.dataclasses.replace(spec, collectors=spec.collectors + ((C, nf_port),))
    with Nfcapd(C, nf_port, tmp_path / "nfcapd", prefix=rl.prefix("c")) as nfcapd:
        with drive.Session(rl, kind(name).launch(spec), tmp_path, port) as session:
            rl.play(drive.mix() + drive.shifted(drive.filler(), 0.5), tmp_path, "t")
            time.sleep(0.5)  # softflowd reads the ring after a stop request only if it had time to
            ours = session.stop()
    theirs = nfcapd.result
    assert ours.summary.records > 0 and theirs.socket_drops == 0
    assert (theirs.totals.flows, theirs.totals.packets, theirs.totals.bytes) == (
        ours.summary.records, sum(r.packets for r in ours.find()), sum(r.octets for r in ours.find()))
    assert theirs.totals.sequence_failures == sum(r.nfcapd_failures for r in ours.sequence) == 0
    # (pmacctd runs one plugin per collector: the same flows, maybe in other datagrams)
    assert {(e.address, e.engine_id): (e.flows, e.sequence_failures) for e in theirs.exporters} == {
        (r.exporter, r.engine_id): (r.records, 0) for r in ours.sequence}

    def ports(proto, sport, dport):  # ICMP: nfdump reads type and code its own way
        return (0, 0) if proto == 1 else (sport, dport)

    assert Counter((f.src, f.dst, *ports(f.proto, f.sport, f.dport), f.proto, f.packets, f.bytes, f.input, f.output)
                   for f in nfcapd.flows()) == \
        Counter((r.src, r.dst, *ports(r.proto, r.sport, r.dport), r.proto, r.packets, r.octets, r.input, r.output)
                for r in ours.find())
