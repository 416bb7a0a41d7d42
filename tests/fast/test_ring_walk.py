"""The compiled TPACKET_V3 block walk against live/ring.parse_block followed by
the reference engine, frame by frame: ingress only, VLAN tags put back, blank
link headers for frames without one (both counted in the length on the wire,
tp_len, which BIG TCP packets are accounted by), exported ifindexes,
timestamps capped at the loop's clock."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from twins import Twins
from wire import frames

from probe.constants import Expiry
from probe.engine import Config
from probe.live import ring

sys.path.insert(0, str(Path(__file__).parent.parent))
from live.test_capture import _block, _pkt  # noqa: E402  (the ring layout, as the kernel writes it)

ETHERNET = frames(linktype=1).map(lambda f: (f[0], f[2]))  # (frame, tp_len or 0: its own)


def exported(ifindex: int) -> int:
    return 65535 if ifindex > 65535 else ifindex  # a stand-in, as live/ifindex maps them


packets = st.builds(
    lambda frame, ifindex, pkttype, vlan, tpid, tci, bare, sec, nsec: _pkt(
        ifindex, pkttype, frame[0][14:] if bare else frame[0],
        (ring.TP_STATUS_VLAN_VALID if vlan else 0) | (ring.TP_STATUS_VLAN_TPID_VALID if tpid else 0),
        tci=tci, tpid=0x88A8 if tpid else 0, sec=sec, nsec=nsec, l2=0 if bare else 14,
        wire=frame[1] or len(frame[0])),
    ETHERNET, st.sampled_from([3, 4, 70000]), st.integers(0, 4), st.booleans(), st.booleans(),
    st.integers(0, 0xFFFF), st.booleans(), st.integers(100, 104), st.integers(0, 999_999_999))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(packets, min_size=1, max_size=12), max_size=6),
       st.integers(101_000, 106_000), st.integers(1, 3000))
def test_block_walk_accounts_as_parse_block(blocks, now, inactive):
    p = Twins(Config(inactive_ms=inactive, max_flows=5), start_ms=100_000)
    for pkts in blocks:
        blk = _block(pkts)
        out = []
        skipped = ring.parse_block(blk, 0, out)
        for ifindex, ts_ns, frame, wire_len in out:
            p.ref.handle_frame(frame, 1, exported(ifindex), min(ts_ns // 1_000_000, now), wire_len)
        assert p.fast.engine.walk_block(blk, 0, exported, now) == skipped
        p.compare()
    p.both("flush", now, Expiry.SHUTDOWN)
