"""Measure the live capture rate without ring drops: `python -m probe.live.bench`.

Builds two namespaces joined by a veth (names nfl<hex>-b*, deleted at the
end), replays a pcap of 1000 UDP flows from one side with tcpreplay at rising
packet rates, and reads the probe's counters on the other side. Two consumers:
`full` (python -m probe with its control socket: capture + decode + cache) and
`capture` (the ring alone). Prints one line per rate; root only. No traffic
leaves the two namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import struct
import subprocess
import sys
import tempfile
import time

from . import ctl


def _sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pcap(path: str, dst_mac: bytes, flows: int = 1000) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("=IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(flows):
            payload = bytes(18 + i % 200)
            udp = struct.pack("!HHHH", 1024 + i, 2055, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             bytes([10, 0, 0, 2]), bytes([20, i >> 8, i & 255, 1])) + udp
            frame = dst_mac + bytes.fromhex("020000000001") + b"\x08\x00" + ip
            f.write(struct.pack("=IIII", 0, 0, len(frame), len(frame)) + frame)


_CONSUME = """
import signal, select, sys
from probe.live.capture import Capture
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
cap = Capture([sys.argv[1]]); p = select.poll(); p.register(cap.fileno(), select.POLLIN)
print("ready", flush=True)
while not stop:
    p.poll(100)
    while cap.read_batch():
        pass
print(*cap.stats(), flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("full", "capture"), default="full")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rates", default="20000,40000,60000,80000,100000,150000,200000,300000")
    args = ap.parse_args(argv)
    prefix = "nfl" + secrets.token_hex(2)
    rns, sns, rif, sif = f"{prefix}-br", f"{prefix}-bs", f"{prefix}br", f"{prefix}bs"
    tmp = tempfile.mkdtemp(prefix=prefix)
    made = []
    try:
        for ns in (rns, sns):
            _sh("ip", "netns", "add", ns)
            made.append(ns)
        _sh("ip", "-n", rns, "link", "add", rif, "type", "veth", "peer", "name", sif, "netns", sns)
        _sh("ip", "-n", rns, "link", "set", rif, "up")
        _sh("ip", "-n", sns, "link", "set", sif, "up")
        _sh("ip", "-n", rns, "link", "set", "lo", "up")
        mac = json.loads(_sh("ip", "-j", "-n", rns, "link", "show", rif))[0]["address"]
        pcap = os.path.join(tmp, "flows.pcap")
        _pcap(pcap, bytes.fromhex(mac.replace(":", "")))
        print(f"mode {args.mode}, {args.seconds:g} s per step, {os.cpu_count()} CPUs")
        print(f"{'asked pps':>10} {'sent pps':>10} {'captured':>10} {'ring drops':>10}")
        best = 0
        for rate in (int(r) for r in args.rates.split(",")):
            sent_pps, packets, drops = _step(args.mode, rns, sns, rif, sif, pcap, rate,
                                             args.seconds, tmp)
            print(f"{rate:>10} {sent_pps:>10.0f} {packets:>10} {drops:>10}", flush=True)
            if drops:
                break
            best = max(best, sent_pps)
        print(f"max rate with 0 ring drops: {best:.0f} packets/s ({args.mode})")
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return 0


def _step(mode, rns, sns, rif, sif, pcap, rate, seconds, tmp):
    control = os.path.join(tmp, "ctl.sock")
    if mode == "full":
        cmd = [sys.executable, "-m", "probe", "-i", rif, "-n", "127.0.0.1:2055",
               "--inactive-timeout", "3600", "--control", control]
    else:
        cmd = [sys.executable, "-c", _CONSUME, rif]
    proc = subprocess.Popen(["ip", "netns", "exec", rns, *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        if mode == "full":
            _wait_control(control, proc)
        else:
            proc.stdout.readline()
        loops = max(1, round(rate * seconds / 1000))
        t0 = time.monotonic()
        _sh("ip", "netns", "exec", sns, "tcpreplay", "-q", "-K", "-i", sif,
            f"--pps={rate}", f"--loop={loops}", pcap)
        sent_pps = loops * 1000 / (time.monotonic() - t0)
        time.sleep(0.5)  # let the consumer catch up with what is in the ring
        if mode == "full":
            stats = ctl.request(control, {"cmd": "stats"})["stats"]
            if stats["frames"] < stats["ring_packets"] - stats["ring_drops"]:
                print(f"  (the probe had read {stats['frames']} frames of them)")
            return sent_pps, stats["ring_packets"] - stats["ring_drops"], stats["ring_drops"]
        proc.send_signal(signal.SIGTERM)
        packets, drops = map(int, proc.stdout.readline().split())
        return sent_pps, packets - drops, drops
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def _wait_control(path: str, proc) -> None:
    for _ in range(500):
        try:
            ctl.request(path, {"cmd": "stats"}, timeout=1)
            return
        except ctl.CtlError:
            if proc.poll() is not None:
                raise RuntimeError("the probe did not start") from None
            time.sleep(0.02)
    raise RuntimeError("the probe did not start")


if __name__ == "__main__":
    sys.exit(main())
