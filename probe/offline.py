"""Offline mode: run the probe over a capture file, using its timestamps as the clock."""
from __future__ import annotations

from typing import BinaryIO, Callable, Sized

from .engine import Probe
from .export import Datagram
from .pcapfile import read


def run_file(f: BinaryIO, make_probe: Callable[[int], Probe],
             send: Callable[[Datagram], None], ifindex: int = 0,
             stop: Sized = ()) -> Probe:
    """Feed every frame of `f` to a probe started at the first packet's time,
    then flush. `send` gets each datagram as soon as the probe builds it.
    A non-empty `stop` (a signal arrived) ends the reading early."""
    probe: Probe | None = None
    now = 0
    try:
        for frame in read(f):
            if stop:
                break
            now = frame.ts_ns // 1_000_000
            if probe is None:
                probe = make_probe(now)
            probe.handle_frame(frame.data, frame.linktype, ifindex, now)
            for d in probe.datagrams_to_send():
                send(d)
    finally:  # a file cut short (PcapError) still exports what was read
        if probe is None:  # an empty capture still gets a probe (and statistics)
            probe = make_probe(now)
        probe.flush(now, "shutdown")
        for d in probe.datagrams_to_send():
            send(d)
    return probe
