"""How long a run waits for timed exports: each check by its own probe's
timeouts and claims (no root, no lab: contexts made by hand)."""
from __future__ import annotations

import time

from testbed.expect.context import Context
from contexts import ours
from testbed.run.waits import wait_for_exports
from testbed.topology import loads
from testbed.traffic.plan import FlowId, FlowTruth

LAB = """\
name: waits
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, routes: [default via r1]}
  h2: {kind: host, interfaces: {eth0: 10.0.2.10/24}, routes: [default via r1]}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}}
links: [h1:eth0 -- r1:eth0, r1:eth1 -- h2:eth0]
collectors:
  ref: {node: h2}
probes:
  quick: {node: r1, interfaces: [eth0], collectors: [ref], inactive_timeout: 1}
  slow: {node: r1, interfaces: [eth1], collectors: [ref], inactive_timeout: 2}
traffic:
  - {kind: udp, from: h1, to: h2, dport: 5000, packets: 3}
expect:
  - {name: quick-idle, kind: exported_within, probe: quick, match: {dport: 5000}, by: inactive_timeout}
  - {name: slow-idle, kind: exported_within, probe: slow, match: {dport: 5000}, by: inactive_timeout}
"""
FLOW = FlowId("10.0.1.10", "10.0.2.10", 40000, 5000, 17, 0)


def contexts(last: float) -> dict[str, Context]:
    topo = loads(LAB, source="waits.yaml")
    truth = {FLOW: FlowTruth(FLOW, "h1", packets=3, first=last - 0.1, last=last)}
    return {name: Context(ours(name, p.node, inactive_timeout=p.inactive_timeout), truth=truth)
            for name, p in topo.probes.items()}


def test_each_timed_check_waits_by_its_own_probes_timeout():
    topo = loads(LAB, source="waits.yaml")
    quick, slow = topo.expect
    ctxs = contexts(0.0)
    gap = slow.deadline(ctxs["slow"]) - quick.deadline(ctxs["quick"])
    assert gap >= 0.9  # one more second of inactive timeout
    # the quick probe's deadline passed 0.2 s ago; the slow one's is still ahead
    last = time.time() - quick.deadline(ctxs["quick"]) - 0.2
    ctxs = contexts(last)
    said: list[str] = []
    waited = wait_for_exports([quick, slow], lambda c: ctxs[c.probe], lambda: (lambda c: []), said.append)
    assert gap - 0.4 < waited < gap + 1.0, (waited, said)
    # one context for all (the first probe's) would have waited for nothing
    assert wait_for_exports([quick, slow], ctxs["quick"], lambda: (lambda c: []), said.append) < 0.1


def test_a_timeout_limit_follows_run_time_changes():
    from testbed.expect.timeouts import limit_from as idle_limit
    assert idle_limit(100.0, 15.0, []) == 15.0
    assert idle_limit(100.0, 15.0, [(90.0, 1.0)]) == 1.0  # changed before it went idle
    assert idle_limit(100.0, 15.0, [(90.0, 1.0), (95.0, 3.0)]) == 3.0  # the last change before
    assert idle_limit(100.0, 15.0, [(104.0, 1.0)]) == 4.0  # shortened while idle: the next scan
    assert idle_limit(100.0, 15.0, [(104.0, 30.0)]) == 30.0  # lengthened while idle
    assert idle_limit(100.0, 2.0, [(104.0, 30.0)]) == 2.0  # expired before the change
    assert idle_limit(100.0, 15.0, [(104.0, 30.0), (110.0, 1.0)]) == 10.0  # changed twice while idle
    assert idle_limit(100.0, 15.0, [(110.0, 1.0), (104.0, 30.0)]) == 10.0  # in any order
