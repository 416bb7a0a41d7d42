"""softflowd 1.1.0's failure modes, reproduced live in the router namespace.

* It reads only full libpcap ring blocks (pcap timeout 0 -> block retire
  timeout UINT_MAX ms with TPACKET_V3): a quiet link is never accounted,
  a busy flow loses its tail, even after a graceful shutdown.
* In the foreground (-d) it has no SIGTERM handler: SIGTERM loses the cache.
* On one interface it fills the input ifindex and copies it into output.
softflowctl's statistics are the tool's own evidence of what it read.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time

import pytest

from exporters import drive
from exporters.routedlab import udp

from testbed.exporters import softflowd

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not shutil.which("softflowd"), reason="needs softflowd (ci/setup installs it)")]


def statistics(rl, spec) -> dict[str, int]:
    """`softflowctl statistics`: the counters softflowd prints, by name."""
    out = subprocess.run([*rl.prefix("r"), "softflowctl", "-c", spec.path("softflowd.ctl"), "statistics"],
                         capture_output=True, text=True, check=True).stdout
    return {k: int(v) for k, v in re.findall(r"^([A-Z][\w ]+): (\d+)", out, re.M)}


def start(rl, tmp_path, **kw):
    port = drive.next_port()
    spec = drive.spec_for(rl, tmp_path, port, **kw)
    return spec, drive.Session(rl, softflowd.launch(spec), tmp_path, port)


def test_a_quiet_link_is_never_read(rl, tmp_path):
    spec, session = start(rl, tmp_path)
    with session:
        rl.play(udp("h1", "h2", packets=20, interval=0.02, sport=40100), tmp_path, "q")
        time.sleep(spec.inactive_timeout + 2)
        stats = statistics(rl, spec)
        result = session.stop()
    assert stats["Packets received by libpcap"] >= 20  # the kernel put them in the ring
    assert stats["Packets processed"] == 0  # softflowd never got the block
    assert session.ex.stopped.clean
    assert result.find(sport=40100) == []  # 0 of 20, even after `softflowctl shutdown`


def test_a_busy_flow_loses_the_tail_of_its_last_block(rl, tmp_path):
    spec, session = start(rl, tmp_path)
    with session:
        busy = udp("h1", "h2", packets=3000, interval=0.0003, sport=40101)
        rl.play(drive.tos_pair(40105) + drive.shifted(busy, 0.3), tmp_path, "busy")
        time.sleep(0.5)
        stats = statistics(rl, spec)
        result = session.stop()
    exported = result.total(sport=40101).packets
    assert stats["Packets received by libpcap"] >= 3000
    assert 0 < exported == stats["Packets processed"] - 6 < 3000  # whole blocks only
    (pair,) = result.find(sport=40105)  # in the first block: read, one record, the first TOS
    assert (pair.tos, pair.packets) == (0x20, 6)


def test_sigterm_in_the_foreground_kills_it_with_its_cache(rl, tmp_path):
    port = drive.next_port()
    spec = drive.spec_for(rl, tmp_path, port)
    launch = softflowd.launch(spec)
    by_signal = dataclasses.replace(launch, processes=tuple(dataclasses.replace(p, stop_command=())
                                                            for p in launch.processes),
                                    clean_exits=frozenset({-15}))
    with drive.Session(rl, by_signal, tmp_path, port) as session:
        rl.play(udp("h1", "h2", packets=20, sport=40102) + drive.filler(), tmp_path, "t")
        time.sleep(0.5)
        stats = statistics(rl, spec)
        result = session.stop()
    assert stats["Number of active flows"] >= 2  # the 20 packets and the filler were read
    assert session.ex.stopped.exits == (-15,)  # killed by the signal: no handler in the foreground
    assert result.find() == []  # and nothing was exported


def test_on_one_interface_it_fills_input_and_copies_it_into_output(rl, tmp_path):
    spec, session = start(rl, tmp_path, only="ia")
    with session:
        rl.play(udp("h1", "h2", packets=5, sport=40103)
                + udp("h2", "h1", packets=5, sport=40104)
                + drive.shifted(drive.filler(), 0.1), tmp_path, "t")
        result = session.stop()
    (rec,) = result.find(sport=40103)
    assert rec.input == rec.output == rl.ifindex["ia"]  # came in on ia, left on ib
    assert result.find(sport=40104) == []  # came in on ib: not captured (frames r sent are filtered)
    claims = softflowd.claims(spec)
    assert claims.fills >= {"input"} and "output" in claims.unreliable
