"""Packet captures of a run that keeps artifacts: every probed interface, and the export traffic.

One `tcpdump -i IF -w FILE -U` per interface, started in the node that owns
it (so it sees what the probe sees, and the datagrams as they reach the
collector). They are lab processes (recorded in the state file, so a crashed
run's are cleaned up too) and are stopped before the lab closes.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from ..logtail import tail
from ..lab.node import LabError

READY_TIMEOUT_S = 5.0


class Capture:
    def __init__(self, lab, node: str, ifname: str, path: Path, bpf: tuple[str, ...] = ()) -> None:
        self.node, self.ifname, self.path = node, ifname, path
        # --immediate-mode: no capture buffering (else packets of the last second are still
        # in the kernel's ring when tcpdump is stopped); -U: write each packet at once;
        # -Z root: keep the right to write where we asked
        argv = ["tcpdump", "-i", ifname, "-w", str(path), "-U", "--immediate-mode", "-n",
                "-Z", "root", *bpf]
        self.proc: subprocess.Popen | None = lab.node(node).popen(argv)
        self.log: Path = self.proc.log_path

    def wait_ready(self, deadline: float) -> None:
        """tcpdump says `listening on IF` once its socket is bound: packets after that are kept."""
        while time.monotonic() < deadline:
            if "listening on" in tail(self.log, 4096):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise LabError(f"tcpdump on {self.node}:{self.ifname} did not start: "
                       + (tail(self.log, 400).strip() or "no output"))

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # tcpdump writes what it has and exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_captures(lab, probes, collectors, folder: Path) -> list[Capture]:
    """A capture of each probed interface (`r1-eth0.pcap`) and of each collector's
    interface, export traffic only (`export-ref.pcap`)."""
    folder.mkdir(parents=True, exist_ok=True)
    topo = lab.topology
    wanted: list[tuple[str, str, Path, tuple[str, ...]]] = []
    for p in probes:
        for ifname in p.interfaces:
            wanted.append((p.node, ifname, folder / f"{p.node}-{ifname}.pcap", ()))
    for c in collectors:
        iface = next((i.name for i in topo.nodes[c.node].interfaces
                      if any(a.ip == c.address for a in i.addresses)), "any")
        wanted.append((c.node, iface, folder / f"export-{c.name}.pcap", ("udp", "port", str(c.port))))
    started: list[Capture] = []
    try:
        for node, ifname, path, bpf in wanted:
            started.append(Capture(lab, node, ifname, path, bpf))
        deadline = time.monotonic() + READY_TIMEOUT_S
        for cap in started:
            cap.wait_ready(deadline)
    except BaseException:
        stop_captures(started)
        raise
    return started


def stop_captures(captures: list[Capture]) -> None:
    for cap in captures:
        cap.stop()
