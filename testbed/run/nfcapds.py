"""nfcapd collectors of a lab (`collectors: {n1: {kind: nfcapd, node: c1}}`): nfdump's
nfcapd beside the referee, started in its node before the probes and read back
with nfdump after they stopped (testbed/collector/nfcapd.py). Its totals and
sequence failures are a second opinion: the report prints them next to the
referee's, and the `nfcapd_agrees` check compares them.
"""
from __future__ import annotations

from ..collector import mnexec_prefix
from ..collector.nfcapd import Nfcapd, NfcapdResult
from ..plan import CollectorPlan


class NfcapdService:
    def __init__(self, plan: CollectorPlan, lab) -> None:
        self.lab, self.spec = lab, plan.collector
        self.nfcapd = Nfcapd(str(self.spec.address), self.spec.port, plan.folder,
                             prefix=mnexec_prefix(lab.node(self.spec.node)), log=plan.log)
        self.result: NfcapdResult | None = None
        self.failure: str | None = None

    def start(self) -> None:
        self.nfcapd.start()
        self.lab.state.add_process(self.spec.node, self.nfcapd.proc.pid, ["nfcapd", str(self.spec)])

    def stop(self) -> NfcapdResult | None:
        """After the probes stopped: drain, stop, read back (a failure is kept, not raised)."""
        if self.result is None and self.failure is None and self.nfcapd.proc is not None:
            try:
                self.result = self.nfcapd.stop()
            except (RuntimeError, OSError, ValueError, KeyError) as exc:
                self.failure = f"nfcapd {self.spec.name}: {str(exc).strip().splitlines()[0]}"
                self.nfcapd.close()
        return self.result

    def close(self) -> None:
        self.nfcapd.close()
