"""`kind: ping` - the real ping tool; its packets are known (request and reply
flows) and count as ground truth when every echo got its reply."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ...schema.kinds import spec
from ..plan import FlowId, FlowTruth, ends_of
from ..step import PACKETS, SECONDS, SIZE, STEPS, TOS, Env, Step, StepResult, host_or_address, node

RECEIVED = re.compile(r"(\d+) packets transmitted, (\d+) received")


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Ping(Step):
    kind = "ping"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    packets: int = spec(PACKETS, 3)
    size: int = spec(SIZE, 56)
    interval: float = spec(SECONDS, 0.2)
    tos: int = spec(TOS, 0)

    def run(self, env: Env) -> StepResult:
        ends = ends_of(env.lab.topology, self.src, self.to)
        argv = ["ping", "-n", "-q", "-c", str(self.packets), "-i", str(self.interval),
                "-s", str(self.size), "-W", "2", "-Q", str(self.tos), ends.dst]
        first = time.time()
        out = env.lab.node(ends.src_node).run(argv, check=False)
        last = time.time()
        m = RECEIVED.search(out.stdout)
        sent, received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        truth = {}
        if m and sent == received == self.packets:  # every packet known: request and reply
            octets = 20 + 8 + self.size
            for src, dst, dport, who in ((ends.src, ends.dst, 8 * 256, ends.src_node),
                                         (ends.dst, ends.src, 0, ends.dst_node or "")):
                fid = FlowId(src, dst, 0, dport, 1, self.tos)
                truth[fid] = FlowTruth(fid, who, self.packets, self.packets * octets, first, last,
                                       self.index)
        return StepResult(f"ping {ends.dst}: {sent} sent, {received} received", last, truth)
