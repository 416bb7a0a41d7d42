"""`kind: nfcapd_agrees` - nfdump's nfcapd (a `kind: nfcapd` collector of the lab) saw
what the referee saw of the probe: per exporter address the same number of flows
and of sequence failures (as nfcapd counts them: flow_sequence is not the
previous one plus its count), and when the probe is nfcapd's only exporter
the same packets and bytes. When the referee received nothing of the probe
there is nothing to compare: that fails, with what nfcapd counted.
The probe's addresses are its router's: nfcapd's flows from them count even when
the referee heard nothing from one of them (counting only the addresses the
referee saw read such flows as 0).

The referee stays the judge: this check says whether the tool operators trust
tells the same story (it does not know the traffic that was sent). It compares
two decoders of the same datagrams: n/a for an exporter that sends each collector
an export of its own (pmacctd's plugin per collector), where a difference may be
the exporter's, not a decoder's."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


def _nfcapd(r, known, y, got) -> str | None:
    nfcapds = [c.name for c in known.topo.collectors.values() if c.kind == "nfcapd"]
    if y.value in nfcapds:
        return y.value
    r.error(y, f"{y.value!r} is not an nfcapd collector (nfcapd collectors: {', '.join(nfcapds) or 'none'})")
    return None


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class NfcapdAgrees(Check):
    kind = "nfcapd_agrees"
    collector: str | None = spec(_nfcapd, None)  # default: the probe's only nfcapd collector

    def claims_needed(self) -> tuple[str, ...]:
        return (*self.needs, "one_export")

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        probe = known.probes.get(values.get("probe") or "")
        if probe is None or values.get("collector"):
            return True
        mine = [e.collector for e in probe.export
                if e.collector and known.topo.collectors[e.collector].kind == "nfcapd"]
        if len(mine) != 1:
            r.error(y, f"probe {probe.name} exports to {len(mine) or 'no'} nfcapd collectors: "
                       "say which with collector:")
            return False
        values["collector"] = mine[0]
        return True

    def evaluate(self, observed, ctx: Context) -> Verdict:
        n = ctx.nfcapd.get(self.collector)
        if n is None:
            return self.verdict(False, "", [f"nfcapd {self.collector} left no result (see its log)"])
        records = observed.find(include_duplicates=True)
        if not records and not observed.sequence:  # 0 = 0 would judge nothing
            seen = ", ".join(f"{e.flows} from {e.address}" for e in n.exporters) or "none"
            return self.verdict(False, "", [f"the referee received no record of the probe: nothing to compare "
                                            f"(nfcapd {self.collector} counted {n.totals.flows} flows: {seen})"])
        ref_flows, ref_fail = defaultdict(int), defaultdict(int)
        for r in records:
            ref_flows[r.exporter] += 1
        for e in observed.sequence:
            ref_fail[e.exporter] += e.nfcapd_failures
        # the probe's addresses, whether the referee heard from them or not (it may have
        # missed what nfcapd got: counting only the addresses it saw read such flows as 0)
        mine = set(ref_flows) | set(ref_fail) | set(ctx.exporter.addresses)
        nf_flows, nf_fail = defaultdict(int), defaultdict(int)
        for e in n.exporters:
            if e.address in mine:
                nf_flows[e.address] += e.flows
                nf_fail[e.address] += e.sequence_failures
        problems = []
        listed = sum(e.flows for e in n.exporters)
        if listed != n.totals.flows:  # a line of `nfdump -E` not read would be a silent 0
            problems.append(f"nfdump -E accounts for {listed} of the {n.totals.flows} flows of nfdump -I")
        heard = sorted(a for a in mine if nf_flows[a] or nf_fail[a] or ref_flows[a] or ref_fail[a])
        for addr in heard:
            if (nf_flows[addr], nf_fail[addr]) != (ref_flows[addr], ref_fail[addr]):
                problems.append(f"{addr}: nfcapd {nf_flows[addr]} flows, {nf_fail[addr]} sequence failures; "
                                f"referee {ref_flows[addr]} records, {ref_fail[addr]} failures as nfcapd counts them")
        packets, octets = sum(r.packets for r in records), sum(r.octets for r in records)
        alone = {e.address for e in n.exporters} <= mine
        if alone and (n.totals.packets, n.totals.bytes) != (packets, octets):
            problems.append(f"nfcapd {n.totals.packets} packets / {n.totals.bytes} bytes, "
                            f"referee {packets} / {octets}")
        if problems and n.socket_drops:
            problems.append(f"nfcapd's socket dropped {n.socket_drops} datagrams (its buffer was full)")
        others = listed - sum(nf_flows.values())
        packets_of = f"{n.totals.packets} packets, " if alone else ""  # nfdump -E has no packets per exporter
        text = (f"nfcapd {self.collector}: {sum(nf_flows.values())} flows, {packets_of}"
                f"{sum(nf_fail.values())} sequence failures from {', '.join(heard)}"
                + (f" ({others} flows from other exporters)" if others else "")
                + f"; referee: {len(records)} records, {packets} packets, {sum(ref_fail.values())} failures")
        return self.verdict(not problems, text, problems)
