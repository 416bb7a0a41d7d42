"""The live probe's event loop: capture + kernel routes + control socket -> Probe -> UDP.

One thread, one poll(): its timeout is the time to the probe's next scan.
Each turn drains route events first (so a route change that happened
before a frame was captured applies to that frame's new flow; see
kernel_routes for the limit of this), then feeds
the captured frames, runs the due scans and sends what the probe built.
SIGTERM/SIGINT: every flow is expired and sent, the statistics go to
stderr, exit status 0.

Clock: unix ms (the v5 header's unix_secs) advanced by the monotonic
clock, so a step of the wall clock does not expire or age flows. A frame
is accounted at its kernel timestamp, never later than the loop's clock
(the probe itself never lets time go back).
"""
from __future__ import annotations

import math
import os
import select
import signal
import sys
import time

from .. import options
from .. import quirks as Q
from .. import stats_file
from ..constants import DLT_EN10MB, RING_BYTES, Expiry  # DLT_EN10MB: every frame a ring gives is Ethernet
from ..engine_api import Config, FlowEngine, flush_streamed
from ..fast.choose import probe_class
from ..output import Output, OutputOptions
from .capture import Capture
from .control import ControlError, ControlServer, flow_view
from .ifindex import IfindexMap
from .kernel_routes import KernelRoutes


SHUTDOWN_DRAIN_S = 2.0  # at most this long to read what the ring still holds at a stop


class Clock:
    def __init__(self) -> None:
        self._unix0 = time.time_ns() // 1_000_000
        self._mono0 = time.monotonic_ns()

    def now_ms(self) -> int:
        return self._unix0 + (time.monotonic_ns() - self._mono0) // 1_000_000


class Daemon:
    def __init__(self, *, config: Config, output: OutputOptions, interfaces: list[str],
                 overrides: dict[str, int], control: str | None = None,
                 engine: str = "reference", ring_bytes: int = RING_BYTES, log=None) -> None:
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.exit_status = 0  # 1: an output asked for could not be written at exit
        self.clock = Clock()
        self.options = output
        self.stopping = False
        self._closers: list = []
        try:
            self.ifmap = IfindexMap(overrides, truncate=Q.IFINDEX_OVERFLOW in config.quirks,
                                    warn=self.log)
            self.routes = self._own(KernelRoutes(self.ifmap))
            self.capture = self._own(Capture(interfaces, ring_bytes=ring_bytes))
            self.probe: FlowEngine = probe_class(engine, config)(
                config, routes=self.routes, start_ms=self.clock.now_ms())
            self.fast = engine == "fast"
            self.output = self._own(Output(output, self.probe.stats))
            self.control = self._own(ControlServer(control, self.handle_request)) if control else None
        except BaseException:
            self.close()
            raise
        self.log("probe: capturing on " + ", ".join(
            self._describe(name, idx) for name, idx in self.capture.ifindexes.items())
            + f"; ring {self.capture.ring_bytes >> 10} KiB")

    def _describe(self, name: str, idx: int) -> str:
        exported = self.ifmap.map(idx)
        return f"{name} (ifindex {idx}" + (f", exported as {exported})" if exported != idx else ")")

    def _own(self, thing):
        self._closers.append(thing)
        return thing

    # -- the loop ----------------------------------------------------------

    def run(self) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._closers.append(_Fd(wake_r))
        self._closers.append(_Fd(wake_w))
        old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        poller = select.poll()
        for fd in (self.capture.fileno(), self.routes.fileno(), wake_r):
            poller.register(fd, select.POLLIN)
        if self.control:
            poller.register(self.control.fileno(), select.POLLIN)
        errors = set(self.output.fileno())
        for fd in errors:
            poller.register(fd, 0)  # POLLERR: an ICMP error came back for a datagram
        try:
            try:
                while not self.stopping:
                    ready = {fd for fd, _ in poller.poll(self._timeout_ms())}
                    self.turn()
                    if self.control and (self.control.fileno() in ready or self._client_due()):
                        self.control.handle_ready()
                    if wake_r in ready:
                        _drain(wake_r)
                    if errors & ready:
                        self.output.collect()
            except BaseException:
                self._last_gasp()  # the cache is billable data: send it, then fail loudly
                raise
            self.shutdown()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def _timeout_ms(self) -> int:
        """Until the next scan, or until a control client's time is up."""
        timeout = self.probe.next_timer_ms() - self.clock.now_ms()
        deadline = self.control.next_deadline() if self.control else None
        if deadline is not None:
            timeout = min(timeout, math.ceil((deadline - time.monotonic()) * 1000))
        return max(0, timeout)

    def _client_due(self) -> bool:
        deadline = self.control.next_deadline()
        return deadline is not None and deadline <= time.monotonic()

    def turn(self) -> None:
        """One pass: route events, captured frames, due scans, sending."""
        self.routes.poll()
        self.read_ring()
        now = self.clock.now_ms()
        if now >= self.probe.next_timer_ms():
            self.probe.handle_timer(now)
        self.send()

    def read_ring(self) -> int:
        """Account what the ring holds (a few blocks at most); returns how much."""
        if self.fast:  # block by block, walked by the compiled engine
            walk, ifmap, clock = self.probe.engine.walk_block, self.ifmap.map, self.clock.now_ms
            return self.capture.walk_blocks(lambda ring, base: walk(ring, base, ifmap, clock()))
        batch = self.capture.read_batch()
        self.feed(batch)
        return len(batch)

    def feed(self, batch) -> None:
        if not batch:
            return
        now = self.clock.now_ms()
        probe, ifmap = self.probe, self.ifmap.map
        for ifindex, ts_ns, frame, wire_len in batch:
            probe.handle_frame(frame, DLT_EN10MB, ifmap(ifindex), min(ts_ns // 1_000_000, now),
                               wire_len)

    def send(self) -> int:
        datagrams = self.probe.datagrams_to_send()
        for datagram in datagrams:
            self.output.emit(datagram)
        if datagrams:
            self.output.flush()
            if self.output.finished:  # `--print | head` and no collector: nothing left to do
                self.stopping = True
        return len(datagrams)

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        # frames captured before the signal belong to this run: read the ring
        # until every frame the kernel put in it was accounted (the block being
        # filled is retired after retire_ms - later on a busy machine), or give up
        deadline = time.monotonic() + SHUTDOWN_DRAIN_S
        while True:
            self.routes.poll()
            while self.read_ring():
                pass
            queued, dropped = self.capture.stats()
            if self.probe.stats.frames >= queued - dropped or time.monotonic() >= deadline:
                break
            time.sleep(self.capture.retire_ms / 1000)
        self.expire_all(Expiry.SHUTDOWN)
        self.output.settle()
        self.report()

    def expire_all(self, reason: Expiry) -> int:
        """Every flow expires and is sent, a batch at a time (a full cache is 262,144
        flows: 8,738 datagrams, never all held at once); the datagrams sent."""
        sent = 0

        def one(datagram) -> None:
            nonlocal sent
            self.output.emit(datagram)
            sent += 1
        flush_streamed(self.probe, self.clock.now_ms(), one, reason)
        self.output.flush()
        if sent and self.output.finished:  # `--print | head` and no collector
            self.stopping = True
        return sent

    def _last_gasp(self) -> None:
        try:
            self.expire_all(Expiry.SHUTDOWN)
            self.report()
        except Exception as exc:  # already failing: report, keep the first error
            self.log(f"probe: could not flush after the error: {exc}")

    def report(self) -> None:
        """The final statistics: the summary on stderr, and --stats-file."""
        stats = self.stats()
        self.log(self.probe.stats.summary())
        if self.options.stats_file:
            problem = stats_file.write(self.options.stats_file, stats)
            if problem:
                self.log(f"probe: {problem}")
                self.exit_status = 1

    def stats(self) -> dict:
        """Every counter (the kernel's ring counters copied in first), plus live extras."""
        stats = self.probe.stats
        packets, stats.ring_drops = self.capture.stats()
        stats.active_flows = len(self.probe.flows())
        return {**stats.as_dict(), "collectors": self.output.report(),
                "ring_packets": packets, "route_refreshes": self.routes.refreshes}

    # -- the control socket ------------------------------------------------

    def handle_request(self, req: dict) -> dict:
        cmd = req["cmd"]
        now = self.clock.now_ms()
        if cmd == "stats":
            return {"stats": self.stats()}
        if cmd == "show":  # streamed to the client as it reads (see control)
            flows = self.probe.flows()
            limit = req.get("limit") or 0
            if type(limit) is not int or limit < 0:
                raise ControlError("show: limit must be a whole number (0: all)")
            shown = flows[:min(limit, len(flows))] if limit else flows  # 10**23 does not fit an index
            return {"total": len(flows), "flows": (flow_view(f, now) for f in shown)}
        if cmd == "timeouts":
            try:  # the limits of the command line's --active-timeout/--inactive-timeout
                active, inactive = (None if req.get(k) is None else round(options.seconds(req[k]) * 1000)
                                    for k in ("active", "inactive"))
            except ValueError as exc:
                raise ControlError(f"timeouts: {exc}") from None
            self.probe.set_timeouts(active_ms=active, inactive_ms=inactive)
            active_ms, inactive_ms = self.probe.timeouts()
            return {"active_s": active_ms / 1000, "inactive_s": inactive_ms / 1000}
        if cmd == "flush":
            flushed = len(self.probe.flows())
            return {"flushed": flushed, "datagrams": self.expire_all(Expiry.FLUSH)}
        raise ControlError(f"unknown command {cmd!r} (stats, show, timeouts, flush)")

    def close(self) -> None:
        for thing in reversed(self._closers):
            thing.close()
        self._closers.clear()


class _Fd:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def run_daemon(config: Config, output: OutputOptions, *, interfaces: list[str],
               overrides: dict[str, int], control: str | None = None,
               engine: str = "reference", ring_bytes: int = RING_BYTES) -> int:
    """Live mode, with the values probe.cli parsed."""
    try:
        daemon = Daemon(config=config, output=output, interfaces=interfaces,
                        overrides=overrides, control=control, engine=engine, ring_bytes=ring_bytes)
    except (ValueError, OSError, ControlError) as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return 2
    try:
        daemon.run()
    finally:
        daemon.close()
    return daemon.exit_status
