"""A RunResult made without root: the late-and-lost lab played on a fake clock.

The real probe engine (sans-IO) gets the packets the lab's steps would send,
its datagrams go through the real reference collector (all but one: the
datagram sent while the lab's collector was unreachable is not delivered), its
records file is written by the probe's own writer, and the lab's checks judge
the result. So the report's unit tests draw real data with known answers:
the UDP stream is exported late (its check fails) and one datagram is missing
(a sequence gap; the flow it carried was never received).
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

from probe.constants import Expiry
from probe.engine import Config, Probe
from probe.export import Datagram
from probe.packet import FlowKey, Packet
from probe.records_file import RecordsFile
from testbed.collector import CheckConfig, Collector
from testbed.expect.check import judge
from testbed.expect.context import Context
from testbed.plan import resolve
from testbed.run.exporters import RunEnd
from testbed.workdir import probe_records
from testbed.report import workfiles
from testbed.run.runner import RunResult
from testbed.topology import load
from testbed.traffic.plan import FlowId, FlowTruth

LAB = Path(__file__).parent / "labs" / "late-and-lost.yaml"
T0 = 1_795_000_000_000  # ms: the probe starts here
EXPORTER = ("10.255.0.1", 40000)  # r1:eth2, where the probe's datagrams come from
H1, H2 = "10.0.1.10", "10.0.2.10"
TCP, UDP = 6, 17
FIN, SYN, ACK, PSH = 0x01, 0x02, 0x10, 0x08
LATE = FlowId(H1, H2, 40000, 5000, UDP, 0)  # exported by the inactive timeout, after its window
LOST = FlowId(H1, H2, 40000, 5001, UDP, 0)  # its datagram never arrives
TCP_OUT = FlowId(H1, H2, 40000, 80, TCP, 0)
TCP_BACK = FlowId(H2, H1, 80, 40000, TCP, 0)


def _packets() -> list[tuple[int, FlowId, int, int]]:
    """(ms after T0, flow, octets, tcp flags) in send order, as the lab's steps send them."""
    out = [(100, TCP_OUT, 60, SYN), (110, TCP_BACK, 60, SYN | ACK)]
    for i in range(5):
        out += [(120 + 20 * i, TCP_OUT, 140, PSH | ACK), (130 + 20 * i, TCP_BACK, 40, ACK)]
    out += [(230, TCP_OUT, 40, FIN | ACK), (240, TCP_BACK, 40, FIN | ACK)]
    out += [(1100 + 10 * i, LOST, 128, 0) for i in range(4)]
    out += [(1500 + 20 * i, LATE, 228, 0) for i in range(20)]
    return out


STEPS = {"tcp-session": (0, 250), "flush-1": (1, 300), "lose-collector": (2, 1000), "lost-stream": (3, 1140),
         "flush-2": (4, 1200), "find-collector": (5, 1300), "udp-stream": (6, 1890), "idle": (7, 5400)}


def _key(f: FlowId, ifindex: int) -> FlowKey:
    return FlowKey(int(ipaddress.IPv4Address(f.src)), int(ipaddress.IPv4Address(f.dst)),
                   f.sport, f.dport, f.proto, f.tos, ifindex)


def run(workdir: Path) -> RunResult:
    """The run, its workdir holding the probe's records file."""
    topo = load(LAB)
    spec = topo.probes["p1"]
    probe = Probe(Config(inactive_ms=round(spec.inactive_timeout * 1000)), start_ms=T0)
    collector = Collector(CheckConfig(clock_slack_ms=None))
    out = RecordsFile(str(probe_records(workdir, "p1", 1)))
    truth: dict[FlowId, FlowTruth] = {}
    step_of = {TCP_OUT: 0, TCP_BACK: 0, LOST: 3, LATE: 6}

    def send(now: int) -> None:
        for d in probe.datagrams_to_send():
            out.write(d)
            if not _lost(d):
                collector.receive(d.data, EXPORTER, now + 1)

    for ms, flow, octets, flags in _packets():
        probe.handle_packet(Packet(_key(flow, 2 if flow.src == H1 else 3), octets, flags), T0 + ms)
        t = truth.setdefault(flow, FlowTruth(flow, "h1" if flow.src == H1 else "h2", step=step_of[flow]))
        t.packets += 1
        t.octets += octets
        t.times.append((T0 + ms) / 1000)
        t.first, t.last = min(t.times), max(t.times)
        send(T0 + ms)
        if ms in (240, 1130):  # the lab's `control: flush` steps
            probe.flush(T0 + ms + 60, Expiry.FLUSH)
            send(T0 + ms + 60)
    for now in range(T0 + 2000, T0 + 5500, 1000):  # the idle step: scans run, the late flow leaves
        probe.handle_timer(now)
        send(now)
    probe.flush(T0 + 5500, Expiry.SHUTDOWN)
    send(T0 + 5500)
    out.close()
    plan = resolve(topo, workdir)
    ctx = Context(plan.exporters["p1"].facts, truth=truth, records_sent=probe.stats.records_sent,
                  step_times={name: (T0 + ms) / 1000 for name, (_, ms) in STEPS.items()},
                  step_index={name: i for name, (i, _) in STEPS.items()})
    observed = collector.result()
    verdicts = [judge(c, observed, ctx) for c in topo.expect]
    runs = {"p1": [RunEnd(1, probe.stats.summary(), probe.stats.as_dict(), None, None, None)]}
    records = [Path(plan.exporters["p1"].launch(1).records_file)]
    return RunResult(topo.name, verdicts, plan, {"p1": "netflow-lab"}, {"ref": observed}, runs,
                     contexts={"p1": ctx}, truth=truth, workdir=workdir, run_id="nf0000", seconds=5.6,
                     phases={"build": 0.1, "traffic": 5.4}, workfiles=workfiles.read({"p1": records}, {}))


def _lost(d: Datagram) -> bool:
    """The datagram sent while r1 had a blackhole route to the collector: the LOST flow's."""
    return any(r.dport == LOST.dport and r.proto == UDP for r in d.records)
