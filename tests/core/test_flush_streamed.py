"""The final flush of a capture file, streamed: flows expire a few thousand at
a time and each batch's datagrams leave before the next is built, with the
same datagrams as one flush (both engines, v5 and v9)."""
import io
import struct

import pytest
from helpers import make_probe

from probe.constants import FLUSH_FLOWS, Expiry
from probe.engine_api import Config
from probe.fast.choose import offline


def _frame(i: int) -> bytes:
    """A UDP packet of flow `i`."""
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 28, 0, 0, 64, 17, 0, 0x0A000000 + i, 0x0A640001)
    return bytes(12) + b"\x08\x00" + ip + struct.pack("!HHHH", 1000 + i % 50000, 53, 8, 0)


@pytest.mark.parametrize("version", [5, 9])
def test_a_flush_in_steps_builds_the_same_datagrams(engine, version):
    def filled():
        p = make_probe(engine, start=0, export_version=version, template_packets=7)
        for i in range(1000):
            p.handle_frame(_frame(i), 1, 1, i % 5)
        p.datagrams_to_send()
        return p

    whole = filled()
    assert whole.flush(10, Expiry.SHUTDOWN) is True
    want = [d.data for d in whole.datagrams_to_send()]
    steps = filled()
    got, calls = [], 0
    for most in [0, 1, 29, 30, 31, 7] + [100] * 20:
        calls += 1
        done = steps.flush(10, Expiry.SHUTDOWN, most)
        got += [d.data for d in steps.datagrams_to_send()]
        if done:
            break
    assert done and calls > 10 and got == want and len(steps.flows()) == 0
    assert steps.stats.as_dict() == whole.stats.as_dict()
    assert steps.flush(10, Expiry.SHUTDOWN, 0) is True  # nothing left: done at once


def test_the_driver_sends_while_flows_remain(engine):
    """At the end of a capture of 3 x FLUSH_FLOWS live flows, the first
    datagram leaves while most flows are still in the cache."""
    flows = 3 * FLUSH_FLOWS
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(flows):
        out.append(struct.pack("<IIII", 1_700_000_000, i % 1_000_000, 42, 42) + _frame(i))
    probe_class, run_file = offline(engine, Config())
    probes, live_at_send = [], []

    def make(start):
        probes.append(probe_class(Config(), None, start))
        return probes[-1]

    run_file(io.BytesIO(b"".join(out)), make, lambda d: live_at_send.append(len(probes[0].flows())))
    assert sum(1 for n in live_at_send if n) > 0 and live_at_send[0] >= flows - FLUSH_FLOWS
    assert probes[0].stats.flows_created == flows == sum(probes[0].stats.exported.values())
    assert len(live_at_send) == -(-flows // 30)  # every record, 30 a datagram
