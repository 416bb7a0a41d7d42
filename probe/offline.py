"""Offline mode: run the probe over a capture file, using its timestamps as the clock."""
from __future__ import annotations

from typing import BinaryIO, Callable, Sized

from .decode import sll2_ifindex
from .engine_api import ExportDatagram, FlowEngine, flush_streamed
from .input_ifindex import PER_FRAME, InputIfindex
from .pcapfile import read


def run_file(f: BinaryIO, make_probe: Callable[[int], FlowEngine],
             send: Callable[[ExportDatagram], None], ifindex: InputIfindex | None = None,
             stop: Sized = ()) -> FlowEngine:
    """Feed every frame of `f` to a probe started at the first packet's time,
    then flush. `send` gets each datagram as soon as the probe builds it.
    A non-empty `stop` (a signal arrived) ends the reading early."""
    probe: FlowEngine | None = None
    now = 0
    ifindex_of = (ifindex or InputIfindex()).of
    last_iface = idx = None  # consecutive frames mostly share their interface
    try:
        for ts_ns, linktype, data, wire_len, iface in read(f):
            if stop:
                break
            now = ts_ns // 1_000_000
            if probe is None:
                probe = make_probe(now)
            if iface is not last_iface:
                last_iface, idx = iface, ifindex_of(iface)
            probe.handle_frame(data, linktype, sll2_ifindex(data) if idx is PER_FRAME else idx,
                               now, wire_len)
            for d in probe.datagrams_to_send():
                send(d)
    finally:  # a file cut short (PcapError) still exports what was read
        if probe is None:  # an empty capture still gets a probe (and statistics)
            probe = make_probe(now)
        flush_streamed(probe, now, send)
    return probe

