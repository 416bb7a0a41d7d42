"""The reference engine and the fast engine side by side, fed the same input,
compared after every step: datagrams (bytes and records with their reasons),
statistics, the next scan's time, the live flows in LRU order."""
from __future__ import annotations

from probe.engine import Config, Probe
from probe.fast.engine import FastProbe


def flow_tuples(flows) -> list[tuple]:
    return [(f.key, f.packets, f.octets, f.first, f.last, f.tcp_flags, f.out_ifindex,
             f.next_hop, f.src_mask, f.dst_mask) for f in flows]


class Twins:
    def __init__(self, config: Config, routes=None, start_ms: int = 0, **table) -> None:
        self.ref = Probe(config, routes, start_ms)
        self.fast = FastProbe(config, routes, start_ms, **table)
        self.datagrams = 0
        self.sent: list = []  # every datagram compared so far
        self.records: list = []  # every record compared so far

    def both(self, method: str, *args) -> None:
        want = getattr(self.ref, method)(*args)
        assert getattr(self.fast, method)(*args) == want  # (flush: whether flows remain)
        self.compare()

    def compare(self) -> None:
        ref, fast = self.ref, self.fast
        want, got = ref.datagrams_to_send(), fast.datagrams_to_send()
        assert [d.data for d in got] == [d.data for d in want]
        assert [d.records for d in got] == [d.records for d in want]
        self.datagrams += len(want)
        self.sent += want
        self.records += [r for d in want for r in d.records]
        assert fast.stats.as_dict() == ref.stats.as_dict()
        assert fast.next_timer_ms() == ref.next_timer_ms()
        assert flow_tuples(fast.flows()) == flow_tuples(ref.flows())
        fast.engine.check()
