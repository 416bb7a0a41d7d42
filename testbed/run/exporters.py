"""A probe of another kind (softflowd, pmacctd, fprobe, command) in a lab router.

The same face as ProbeService (services.py) to the session and the steps:
launch / wait_ready / begin_stop / end_stop / kill / running / failures, so
`probe stop|start|restart|kill` steps work for every kind. Its kind's Launch
(testbed/exporters/) says how: processes started with `mnexec -a PID` in the
router (their PIDs in the state file), ready when they hold their capture
sockets, stopped with the kind's stop command or signal (they flush), logs in
the lab's workdir. It has no control socket: `control` steps are refused when
the lab file is read, and it cannot be asked how many records it sent.
"""
from __future__ import annotations

import time
from pathlib import Path

from probe.live.ctl import CtlError

from ..collector import mnexec_prefix
from ..exporters import ExporterSpec, Port
from ..exporters.process import ExporterError, ExporterProcesses
from ..lab.node import LabError
from ..topology.probekind import exporter_spec


def built_ports(lab, spec) -> tuple[Port, ...]:
    """The probe's interfaces as the lab built them: kernel ifindex, the router's MAC, its address."""
    node = lab.topology.nodes[spec.node]
    links = {link["ifname"]: link for link in lab.node(spec.node).links()}
    ports = []
    for name in spec.interfaces:
        iface = node.interface(name)
        address = str(iface.addresses[0].ip) if iface is not None and iface.addresses else None
        ports.append(Port(name, links[name]["ifindex"], links[name]["address"], address))
    return tuple(ports)


class ExporterService:
    controls = False  # no control socket: no `control` steps, no flush on request

    def __init__(self, lab, spec, workdir: Path) -> None:
        self.lab, self.spec, self.workdir = lab, spec, workdir
        self.kind = spec.exporter()
        self.exspec: ExporterSpec = exporter_spec(spec, built_ports(lab, spec), workdir)
        self.claims = self.kind.claims(self.exspec)
        self.runs = 0
        self.commands: list[tuple[str, ...]] = []  # the argv of every process it started, in order
        self.configs: dict[str, str] = {}  # config files its kind wrote: name -> text
        self.final_stats: list[str] = []  # each run's logs, when it stopped
        self.final: list[dict | None] = []  # statistics at exit: other exporters write none
        self.stats_at_stop: list[dict] = []
        self.failures: list[str] = []
        self.current: ExporterProcesses | None = None
        self.active_changes: list[tuple[float, float]] = []  # none: no control socket
        self.inactive_changes: list[tuple[float, float]] = []

    @property
    def engine(self) -> tuple[int, int]:
        """The engine type/id its datagrams carry."""
        return (self.spec.engine_type, self.spec.engine_id) if self.claims.engine_fields else (0, 0)

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.running

    @property
    def records_sent(self) -> None:
        return None  # these tools do not say

    def start(self) -> None:
        self.launch()
        self.wait_ready(time.monotonic() + self.ready_timeout_s)

    def launch(self) -> None:
        if self.running:
            raise LabError(f"probe {self.spec.name} is already running")
        self.runs += 1
        folder = self.workdir if self.runs == 1 else self.workdir / f"{self.spec.name}-run{self.runs}"
        folder.mkdir(parents=True, exist_ok=True)
        self.current = ExporterProcesses(self.kind.launch(self.exspec), folder,
                                         prefix=mnexec_prefix(self.lab.node(self.spec.node)))
        pids = self.current.launch_all()
        self.commands += [tuple(p.argv) for p in self.current.launch.processes]
        self.configs.update({Path(path).name: text for path, text in self.current.launch.files.items()})
        for pid, process in zip(pids, self.current.launch.processes):
            self.lab.state.add_process(self.spec.node, pid, list(process.argv))

    def wait_ready(self, deadline: float) -> None:
        try:
            self.current.wait_ready(deadline)
        except ExporterError as exc:
            self.current.kill()
            raise LabError(f"probe {self.spec.name} ({self.spec.kind}): {exc}") from None

    def begin_stop(self) -> None:
        if self.current is not None and self.current.stopped is None:
            self.current.request_stop()

    def end_stop(self, deadline: float) -> int | None:
        ex, self.current = self.current, None
        if ex is None:
            return None
        stopped = ex.finish_stop(deadline)
        self._keep_logs(ex)
        self.failures += [f"run {self.runs}: {p}" for p in stopped.problems]
        return 0 if stopped.clean else 1

    @property
    def ready_timeout_s(self) -> float:
        return self.current.launch.ready_timeout_s if self.current else 0.0

    @property
    def stop_timeout_s(self) -> float:
        return self.current.launch.stop_timeout_s if self.current else 0.0

    def stop(self) -> int | None:
        self.begin_stop()
        return self.end_stop(time.monotonic() + self.stop_timeout_s)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no flush. Not a failure: the lab asked for it."""
        if not self.running:
            raise LabError(f"probe {self.spec.name} is not running")
        ex, self.current = self.current, None
        ex.kill()
        self._keep_logs(ex)

    def _keep_logs(self, ex: ExporterProcesses) -> None:
        self.final_stats.append("\n".join(f"== {name}\n{text}" for name, text in ex.logs().items()))
        self.final.append(None)

    def ctl(self, words: list[str]) -> dict:
        raise CtlError(f"probe {self.spec.name} is {self.spec.kind}: it has no control socket")

    def stats(self) -> dict:
        return self.ctl(["stats"])
