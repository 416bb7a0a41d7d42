"""`kind: iperf3` - a real iperf3 transfer (no packet-level truth: totals come from iperf3)."""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass

from ...schema.kinds import plain, spec
from ..plan import ends_of
from ..step import (BOOLEAN, DPORT, POSITIVE_SECONDS, STEPS, TOS, Env, Step, StepResult, choice,
                    host_or_address, node)

BITRATE = re.compile(r"^\d+(\.\d+)?[KMG]?$")
SERVER_READY_S = 0.3  # the server must listen before the client connects


def _bitrate(r, y) -> str | None:
    if BITRATE.match(str(y.value)):
        return str(y.value)
    r.error(y, f"expected a bitrate like 10M, got {y.value!r}")
    return None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Iperf3(Step):
    kind = "iperf3"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    duration: float = spec(POSITIVE_SECONDS)
    proto: str = spec(choice("tcp", "udp", what="protocol"), "tcp")
    dport: int = spec(DPORT, 5201)
    bitrate: str | None = spec(plain(_bitrate), None)
    parallel: int = spec(plain(lambda r, y: r.integer(y, 1, 128, "a stream count")), 1)
    reverse: bool = spec(BOOLEAN, False)
    tos: int = spec(TOS, 0)

    def run(self, env: Env) -> StepResult:
        ends = ends_of(env.lab.topology, self.src, self.to)
        port = str(self.dport)
        server = env.lab.node(ends.dst_node).popen(["iperf3", "-s", "-1", "-p", port])
        time.sleep(SERVER_READY_S)
        # iperf3 reads -t as a whole number of seconds (and 0 as "forever"): round up
        argv = ["iperf3", "-c", ends.dst, "-p", port, "-t", str(max(1, math.ceil(self.duration))),
                "-J", "-P", str(self.parallel)]
        if self.proto == "udp":
            argv.append("-u")
        if self.bitrate:
            argv += ["-b", self.bitrate]
        if self.reverse:
            argv.append("-R")
        if self.tos:
            argv += ["-S", str(self.tos)]
        out = env.lab.node(ends.src_node).run(argv, check=False)
        server.wait(timeout=10)
        try:
            sent = json.loads(out.stdout)["end"]["sum_sent"]["bytes"]
        except (ValueError, KeyError):
            raise RuntimeError(f"iperf3 failed: {(out.stderr or out.stdout).strip()[-300:]}") from None
        return StepResult(f"iperf3 {ends.dst}: {sent} bytes", time.time())
