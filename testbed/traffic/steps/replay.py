"""`kind: replay` - a capture from the field, sent through a lab router, with ground truth.

The capture is read before anything is sent (testbed/pcap.py), as a
stream: its addresses are mapped into the lab (`map:`), each packet gets its
way in (`into:`), is framed for the router and its checksums fixed (fit.py),
written to the plan (one round) and counted per flow (capture_truth.py), so
the conservation, flow and timing checks apply to it as to crafted traffic;
no frame stays in memory. One player process sends every frame from the far
end of its link, at the recorded times (or `speed:` times faster, or `pps:`),
`loop:` rounds, reading the plan as it goes, and says when each left: the
truth gets real times, the result the lag. Validate reads the capture too
(its packets and times, nothing kept) and refuses a replay that would send
more than MAX_SENDS packets or last longer than a `wait` may (a week): a gap
of years in a capture would have the run sleep silently. It refuses rather
than compresses the gap because the timing is what the timed checks judge:
`speed:` or `pps:` is the operator's choice to make, and the error says so.

    into: r1:eth0                          every packet enters r1 by eth0
    into: r1                               each by the interface r1 routes its source to
    into: {r1:eth0: [10.0.1.0/24], r1:eth1: [h2, 0.0.0.0/0]}   by source, longest prefix
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Iterator

from ...logtail import tail
from ...schema.kinds import plain, spec
from ...schema.yamltree import Y
from ... import pcap
from ..capture_truth import Pacing, Truth
from ..fit import ANYWHERE, AddressMap, Fit, Way, Ways, fitted
from ..hush import hushed_hosts
from ..ipv4 import UDP, ip_start, key_of
from ..step import MAX_SECONDS, RATE, STEPS, Env, Step, StepResult, one_of

LEAD_S = 0.05  # the player starts sending this long after its sockets are open
DRAIN_S = 0.2  # hosts stay hushed this long after the last packet (in flight, ARP queues)
MAX_SENDS = 5_000_000
TIMES_CHUNK = 1 << 16  # send times read back this many at a time


def _file(r, known, y, got) -> str | None:
    text = r.text(y, "a file name")
    if text is None:
        return None
    path = (known.base_dir / text).resolve()
    problem = not_a_capture(path)
    if problem:
        r.error(y, problem)
        return None
    return str(path)


def not_a_capture(path: Path) -> str | None:
    """Why `path` cannot be read as a capture (None: a regular file we may read). A FIFO
    or a device would block or never end the reading that happens before sending."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"no such file: {path}"
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory, not a capture file"
    if not stat.S_ISREG(mode):
        what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        return f"{path} is {what}, not a capture file (give a pcap or pcapng file)"
    if not os.access(path, os.R_OK):
        return f"{path}: permission denied"
    return None


def _lab_side(r, known, y) -> IPv4Network | None:
    """A map target: a node or an address (one address), or a prefix."""
    if isinstance(y.value, str) and y.value in known.nodes:
        try:
            return IPv4Network(known.topo.address_of(y.value))
        except ValueError as exc:
            r.error(y, str(exc))
            return None
    try:
        return IPv4Network(y.value)
    except (ValueError, TypeError):
        r.error(y, f"{y.value!r} is neither a node, an address nor a prefix")
        return None


def _map(r, known, y, got) -> AddressMap | None:
    """`{capture prefix: lab prefix | node | address}`."""
    entries = r.mapping(y, "capture prefixes to lab prefixes or nodes")
    if entries is None:
        return None
    rules, ok = [], True
    for key, value in entries.items():
        src = r.prefix(key, where=value)
        dst = _lab_side(r, known, value)
        if src is None or dst is None:
            ok = False
        elif dst.prefixlen != 32 and dst.prefixlen > src.prefixlen:
            r.error(value, f"{src} holds more addresses than {dst}: map it to a /{src.prefixlen} "
                           "or shorter prefix, or to one node or address")
            ok = False
        else:
            rules.append((src, dst))
    return AddressMap(tuple(rules)) if ok else None


@dataclass(frozen=True)
class Into:
    """Where packets enter: by source prefix, or by `via`'s routes to the source."""

    by_source: tuple[tuple[str, tuple[IPv4Network, ...]], ...] = ()
    via: str | None = None  # a router: each packet enters where it routes the source

    def __str__(self) -> str:
        if self.via:
            return f"{self.via} (by its route to the source)"
        return ", ".join(f"{ref} <- {', '.join(map(str, nets))}" for ref, nets in self.by_source)


def _linked(r, known, y):
    iface = known.interface(r, y)
    if iface is not None and iface.link is None:
        r.error(y, f"{iface.ref} has no link: nothing can send into it")
        return None
    return iface


def _into(r, known, y, got) -> Into | None:
    if isinstance(y.value, str) and ":" not in y.value:  # a router
        node = known.node(r, y)
        if node is None:
            return None
        if not any(i.link is not None for i in node.interfaces):
            r.error(y, f"{node.name} has no link to send into")
            return None
        return Into(via=node.name)
    if not y.is_map:
        iface = _linked(r, known, y)
        return iface and Into(((iface.ref, (ANYWHERE,)),))
    out, ok = [], True
    for key, value in y.items():
        iface = _linked(r, known, Y(key, value.keyline, value.path))  # the key, at its line
        nets = [known.networks(r, v) for v in r.one_or_many(value)]
        if iface is None or any(n is None for n in nets):
            ok = False
            continue
        out.append((iface.ref, tuple(n for group in nets for n in group)))
    return Into(tuple(out)) if ok and out else None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Replay(Step):
    kind = "replay"
    file: str = spec(_file)
    into: Into = spec(_into)
    map: AddressMap = spec(_map, AddressMap())
    speed: float | None = spec(plain(lambda r, y: r.number(y, positive=True, what="a speed multiplier")),
                               None)
    pps: float | None = spec(RATE, None)
    loop: int = spec(plain(lambda r, y: r.integer(y, 1, 10_000, "a loop count")), 1)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        if not one_of(r, y, values, "speed", "pps"):
            return False
        if values.get("file") is None:
            return True
        problem = too_long(values["file"], values.get("speed"), values.get("pps"), values.get("loop") or 1)
        if problem:
            r.error(y.get("file") or y, problem)
        return not problem

    def run(self, env: Env) -> StepResult:
        ways = find_ways(env.lab, self.into)
        truth = Truth([w.sender for w in ways.ways], self.index, self.loop, self.speed, self.pps)
        base = env.workdir / f"step{self.index}-replay"
        fitting = Fit()
        plan, frames = write_plan(base, ways, self.file, self.map, fitting, truth)
        problem = limits(truth.sends, truth.duration, truth.pacing.gap, self.loop)
        if problem:  # the file changed since it was validated
            raise RuntimeError(f"{self.file}: {problem}")
        sent = None
        if truth.sends:
            with hushed_hosts(env.lab):
                sent = play(env.lab, base, plan, ways, truth)
                time.sleep(DRAIN_S)
        lag = truth.sent(sent["start"], send_times(sent["times"])) if sent else 0.0
        report = {
            "file": self.file, "frames": frames, "packets": truth.sends,
            "flows": len(truth.flows), "skipped": dict(fitting.skipped),
            "unplaced": dict(fitting.unplaced.most_common(20)), "mapped": fitting.mapped,
            "checksums": fitting.checksums, "lag_s": lag, "plan": str(plan),
            "rounds": self.loop, "period": truth.pacing.period,
            "start": sent and sent["start"], "ways": [w.ref for w in ways.ways],
            "by_way": {w.ref: truth.by_way.get(i, 0) * self.loop for i, w in enumerate(ways.ways)},
            "to_collectors": to_collectors(truth.flows.values(), env.lab.topology.collectors.values()),
        }
        (base.with_suffix(".json")).write_text(json.dumps(report, indent=1))
        return StepResult(summary(Path(self.file).name, report, fitting, env.lab.topology.collectors),
                          time.time(), truth.flows,
                          report)


def to_collectors(flows, collectors) -> dict[str, int]:
    """Packets the replay sends to a lab collector's UDP port, per collector: NetFlow
    exported by some router of the field, which the referee hears as a foreign exporter."""
    where = {(str(c.address), c.port): c.name for c in collectors}
    out: dict[str, int] = {}
    for t in flows:
        name = where.get((t.flow.dst, t.flow.dport)) if t.flow.proto == UDP else None
        if name is not None:
            out[name] = out.get(name, 0) + t.packets
    return out


def summary(name: str, report: dict, fitted: Fit, collectors) -> str:
    ways = ", ".join(f"{n} into {ref}" for ref, n in report["by_way"].items() if n)
    text = f"{report['packets']} packets in {report['flows']} flows from {name} ({ways or 'none sent'})"
    if fitted.skipped:
        text += f"; not sent: {fitted.skipped_text()}"
    for c, n in report.get("to_collectors", {}).items():
        text += (f"; {n} packets to collector {c} ({collectors[c]}): NetFlow in a capture reaches the "
                 "referee as a foreign exporter, not judged")
    return text + f"; lag {report['lag_s'] * 1000:.1f} ms"


def too_long(path: str, speed: float | None, pps: float | None, loop: int) -> str | None:
    """Why the replay could not run as written (too many sends, or longer than a week),
    from a pass over the capture: every packet with a v5 key counts (the lab's ways in,
    unknown here, may leave some out). None: it fits, or the file is for the run to judge."""
    pace, n = Pacing(speed, pps), 0
    try:
        with open(path, "rb") as f:
            for c in pcap.read(f):
                off = ip_start(c.linktype, c.data)
                if not isinstance(off, str) and not isinstance(key_of(c.data[off:]), str):
                    pace.next(c.ts_ns)
                    n += 1
    except (OSError, pcap.CaptureError) as exc:
        return f"not a capture this replay can read: {exc}"
    duration = (loop - 1) * pace.period + pace.last if n else 0.0
    return limits(n * loop, duration, pace.gap, loop)


def limits(sends: int, duration: float, gap: tuple[float, int], loop: int) -> str | None:
    if sends > MAX_SENDS:
        return f"{sends} packets to send ({sends // loop} x loop {loop}): at most {MAX_SENDS} in one replay"
    if duration > MAX_SECONDS:
        return (f"the replay would last {_span(duration)} (its longest gap: {_span(gap[0])} before packet "
                f"{gap[1]}): at most a week, as a wait; give speed: or pps:")
    return None


def _span(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("s", 1)):
        if seconds >= size or unit == "s":
            return f"{seconds / size:.3g} {unit}"
    return ""


def send_times(path: Path) -> Iterator[float]:
    """The player's send times (float64 each, NaN: not sent), a chunk at a time."""
    with open(path, "rb") as f:
        while True:
            chunk = array("d")
            try:
                chunk.fromfile(f, TIMES_CHUNK)
            except EOFError:  # the last, shorter chunk is in `chunk` all the same
                pass
            if not chunk:
                return
            yield from chunk


def _link_info(node, ifname: str) -> tuple[bytes, int]:
    info = json.loads(node.run(["ip", "-j", "link", "show", "dev", ifname]).stdout)[0]
    return bytes.fromhex(info["address"].replace(":", "")), info["mtu"]


def _way(lab, ref: str) -> Way:
    topo = lab.topology
    link = topo.links[topo.interface(ref).link]
    sender = next(e for e in link.endpoints if e != ref)
    (rnode, rif), (snode, sif) = _split(ref), _split(sender)
    router_mac, router_mtu = _link_info(lab.node(rnode), rif)
    sender_mac, sender_mtu = _link_info(lab.node(snode), sif)
    return Way(ref, sender, router_mac, sender_mac, min(router_mtu, sender_mtu))


def find_ways(lab, into: Into) -> Ways:
    """The ways in, with the MACs and MTUs of the built lab."""
    by_source = list(into.by_source)
    if into.via:  # by the router's own routes to each source
        linked = {i.name for i in lab.topology.nodes[into.via].interfaces if i.link is not None}
        best: dict[IPv4Network, tuple[int, str]] = {}
        for route in lab.node(into.via).routes():
            dev, kind = route.get("dev"), route.get("type", "unicast")
            if dev not in linked or kind != "unicast":
                continue
            dst = route.get("dst", "")
            net = ANYWHERE if dst == "default" else IPv4Network(dst if "/" in dst else dst + "/32")
            metric = route.get("metric", 0)
            if net not in best or metric < best[net][0]:
                best[net] = (metric, f"{into.via}:{dev}")
        by_source = [(ref, (net,)) for net, (_, ref) in best.items()]
    refs = list(dict.fromkeys(ref for ref, _ in by_source))
    ways = tuple(_way(lab, ref) for ref in refs)
    return Ways(ways, tuple((net, refs.index(ref)) for ref, nets in by_source for net in nets))


def write_plan(base: Path, ways: Ways, capture: str, amap: AddressMap, fitting: Fit,
               truth: Truth) -> tuple[Path, int]:
    """What one round sends, as a pcapng: one interface per way in (named by the
    router interface), each packet stamped with its offset from the start; written
    as the capture is read, each packet added to `truth` (the rest counted in
    `fitting`). Returns the plan and how many frames the capture held."""
    path, frames = base.with_suffix(".pcapng"), 0

    def counted(items):
        nonlocal frames
        for c in items:
            frames += 1
            yield c

    try:
        with open(capture, "rb") as f, open(path, "wb") as out:
            pcap.write_pcapng(out, 1, [w.ref for w in ways.ways],
                              ((round(truth.add(p) * 1e9), p.way, p.frame)
                               for p in fitted(counted(pcap.read(f)), amap, ways, fitting)))
    except (OSError, pcap.CaptureError) as exc:
        raise RuntimeError(f"{capture}: {exc}") from None
    return path, frames


def play(lab, base: Path, frames: Path, ways: Ways, truth: Truth) -> dict:
    """Run the player (in the first sender's node; it joins the others' namespaces)."""
    ports = {}
    for w in ways.ways:
        node, ifname = _split(w.sender)
        ports[w.ref] = {"netns": f"/proc/{lab.node(node).pid}/ns/net", "ifname": ifname}
    sent_file = base.with_suffix(".sent")
    plan_file = base.with_suffix(".plan.json")
    plan_file.write_text(json.dumps({"frames": str(frames), "ports": ports, "sent": str(sent_file),
                                     "lead": LEAD_S, "rounds": truth.loop, "period": truth.pacing.period}))
    out, log = base.with_suffix(".player.json"), base.with_suffix(".player.log")
    first = _split(ways.ways[0].sender)[0]
    with open(out, "wb") as o, open(log, "wb") as e:
        proc = lab.node(first).popen([sys.executable, "-m", "testbed.traffic.player", str(plan_file)],
                                     stdout=o, stderr=e)
    limit = truth.duration + 60
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"the replay player did not finish within {limit:.0f} s") from None
    try:
        result = json.loads(out.read_text())
    except (OSError, ValueError):
        raise RuntimeError("the replay player failed: " + tail(log, 500).strip()) from None
    if result["failed"]:
        shown = "; ".join(f"packet {i}: {m}" for i, m in result["errors"][:5])
        raise RuntimeError(f"sending failed for {result['failed']} packets: {shown}")
    return {"start": result["start"], "times": sent_file}


def _split(ref: str) -> tuple[str, str]:
    """'r1:eth0' -> ('r1', 'eth0'), as a lab file names an interface."""
    node, _, ifname = ref.partition(":")
    return node, ifname
