"""The live routed benchmark: `python -m probe.bench.routed` (root, trafgen).

In the forwarding lab (`fwdlab`: h1 -> r1 -> h2, 64-byte UDP from trafgen):
first the kernel's forwarding limit without a probe (trafgen unpaced, r1's
forwarded packets per second); then each engine on r1 at rising fractions of
that limit: a rate passes when nothing was dropped and every packet r1
received was accounted. Then paired rounds, unpaced: the bare router, then
each engine in turn, so every ratio compares runs a few seconds apart on the
same loaded machine (medians of the rounds).

Engines: `fast` and `reference` (the probe on r1's two interfaces), `ring`
(the probe's capture ring alone, blocks released unread: the ceiling of any
AF_PACKET capture here) and `softflowd` (the peer, `-i eth0`: the traffic's
only input). The probe and softflowd export to r1's loopback. trafgen (and
the forwarding it drives) runs on CPU 0, everything else on the other CPUs,
in every run alike.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from ..live import ctl
from .fwdlab import FLOWS, Lab, end, off_sender_cpu


def _stats(path: str) -> dict:
    return ctl.request(path, {"cmd": "stats"})["stats"]


# The ring alone (capture, no engine): where the ceiling is without the probe's work.
_RING = """
import select, signal, sys
from probe.live.capture import Capture
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
cap = Capture(["eth0", "eth1"]); p = select.poll(); p.register(cap.fileno(), select.POLLIN)
print("ready", flush=True)
while not stop:
    p.poll(100)
    while cap.walk_blocks(lambda ring, base: None):
        pass
print(*cap.stats(), flush=True)
"""


def ring_step(lab: Lab, rate: int | None, limit: float, seconds: float) -> dict:
    proc = subprocess.Popen(["ip", "netns", "exec", lab.r1, sys.executable, "-c", _RING],
                            preexec_fn=off_sender_cpu,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdout.readline()
        packets = max(1, int((rate or limit) * seconds))
        received, pps = lab.send(packets, rate, "eth0", "rx_packets")
        time.sleep(0.3)
        proc.terminate()
        counts = proc.stdout.readline().split()
        if len(counts) != 2:
            raise RuntimeError("the ring reader died (run it alone to see why)")
        ring_packets, drops = map(int, counts)
    finally:
        end(proc)
    return {"engine": "ring", "asked": rate, "pps": pps, "sent": packets,
            "received": received, "accounted": ring_packets - drops, "drops": drops,
            "ok": drops == 0 and ring_packets >= packets}


def probe_step(lab: Lab, engine: str, rate: int | None, limit: float, seconds: float) -> dict:
    """One rate (None: trafgen unpaced) with the probe on r1: what it
    accounted against what trafgen sent."""
    ctl_path = os.path.join(lab.tmp, f"{engine}-{rate}.ctl")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.r1, sys.executable, "-m", "probe", "-i", "eth0", "-i", "eth1",
         "-n", "127.0.0.1:9", "--engine", engine, "--control", ctl_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=off_sender_cpu)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                before = _stats(ctl_path)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the probe ({engine}) did not start") from None
                time.sleep(0.01)
        packets = max(1, int((rate or limit) * seconds))
        received, pps = lab.send(packets, rate, "eth0", "rx_packets")
        last, stable = None, 0
        while stable < 3:  # until the probe has read what the ring holds
            time.sleep(0.1)
            now = _stats(ctl_path)
            stable = stable + 1 if now["frames"] == (last or {}).get("frames") else 0
            last = now
        accounted = last["packets"] - before["packets"]
        drops = last["ring_drops"] - before["ring_drops"]
        return {"engine": engine, "asked": rate, "pps": pps, "sent": packets,
                "received": received, "accounted": accounted, "drops": drops,
                "ok": drops == 0 and accounted == packets}
    finally:
        end(proc)


def softflowd_step(lab: Lab, rate: int | None, limit: float, seconds: float) -> dict:
    """The peer on r1's input interface: what its libpcap ring received and dropped."""
    ctl = os.path.join(lab.tmp, "softflowd.ctl")
    proc = subprocess.Popen(["ip", "netns", "exec", lab.r1, "softflowd", "-d", "-i", "eth0",
                             "-n", "127.0.0.1:9", "-c", ctl, "-p", ctl + ".pid",
                             "-m", "262144", "-B", str(8 << 20)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=off_sender_cpu)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(ctl):  # the control socket: capture is open
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("softflowd did not start")
            time.sleep(0.01)
        packets = max(1, int((rate or limit) * seconds))
        _, pps = lab.send(packets, rate, "eth0", "rx_packets")
        deadline = time.monotonic() + 5
        while True:  # until its ring has seen every packet (or 5 s)
            count = _softflowd_stats(lab, ctl)
            if (count.get("Packets received by libpcap", 0) >= packets
                    or time.monotonic() > deadline):
                break
            time.sleep(0.1)
    finally:
        end(proc)
    # Judged by its ring's counters, as the `ring` row: softflowd reads the
    # ring's last partly filled block only when more traffic comes, so its
    # "Packets processed" lags by up to a block after the sender stops.
    received = count.get("Packets received by libpcap", 0)
    drops = (count.get("Packets dropped by libpcap", 0)
             + count.get("Packets dropped by interface", 0))
    return {"engine": "softflowd", "asked": rate, "pps": pps, "sent": packets,
            "accounted": received - drops, "drops": drops,
            "ok": drops == 0 and received >= packets}


def _softflowd_stats(lab: Lab, ctl: str) -> dict[str, int]:
    text = subprocess.run(["ip", "netns", "exec", lab.r1, "softflowctl", "-c", ctl, "statistics"],
                          capture_output=True, text=True).stdout
    return {k: int(v) for k, v in re.findall(r"^([A-Z][\w ]+?): (\d+)", text, re.M)}


STEPS = {"ring": ring_step,
         "softflowd": softflowd_step}


def step(lab: Lab, engine: str, rate: int | None, limit: float, seconds: float) -> dict:
    if engine in STEPS:
        return STEPS[engine](lab, rate, limit, seconds)
    return probe_step(lab, engine, rate, limit, seconds)


def _row(s: dict, limit: float, label: str = "") -> str:
    asked = f"{s['asked']:,}" if s["asked"] else "unpaced"
    share = s["pps"] / limit if limit else 0.0
    return (f"{label}{s['engine']:>9} {asked:>10} {s['pps']:>10,.0f} {share:>8.0%} "
            f"{s['sent']:>9,} {s['accounted']:>9,} {s['drops']:>6}  "
            + ("exact, no drop" if s["ok"] else "LOSS"))


def rising(lab: Lab, engines: list[str], fractions: list[float], limit: float,
           seconds: float) -> None:
    """Each engine at rising paced rates, until its first loss."""
    print("rising rates: trafgen paced at a fraction of the limit; rate = r1's received "
          "packets/s while trafgen sent (pacing under load lands below what was asked)")
    print(f"{'engine':>9} {'asked pps':>10} {'rate':>10} {'of limit':>8} {'sent':>9} "
          f"{'accounted':>9} {'drops':>6}  verdict")
    for engine in engines:
        for frac in fractions:
            s = step(lab, engine, int(limit * frac), limit, seconds)
            print(_row(s, limit), flush=True)
            if not s["ok"]:
                break


def paired(lab: Lab, engines: list[str], rounds: int, limit: float, seconds: float) -> None:
    """Unpaced rounds: the bare router, then each engine; ratios to the same round's bare rate."""
    packets = max(1, int(limit * seconds))
    print(f"\npaired rounds, unpaced ({packets:,} packets a run): the bare router, then each "
          "engine; 'of bare' is the rate over the same round's bare rate")
    ratios: dict[str, list[float]] = {e: [] for e in engines}
    exact: dict[str, int] = {e: 0 for e in engines}
    for r in range(1, rounds + 1):
        _, bare = lab.send(packets, None, "eth0", "rx_packets")
        print(f"round {r}:      bare {'unpaced':>10} {bare:>10,.0f}", flush=True)
        for engine in engines:
            s = step(lab, engine, None, limit, seconds)
            ratios[engine].append(s["pps"] / bare if bare else 0.0)
            exact[engine] += s["ok"]
            print(_row(s, bare, f"round {r}: "), flush=True)
    for engine in engines:
        print(f"{engine}: median {statistics.median(ratios[engine]):.1%} of the bare forwarding "
              f"rate (rounds: {', '.join(f'{x:.0%}' for x in ratios[engine])}); exact, no drop "
              f"in {exact[engine]} of {rounds} rounds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m probe.bench.routed",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--limit-packets", type=int, default=3_000_000,
                    help="packets sent unpaced to find the forwarding limit")
    ap.add_argument("--seconds", type=float, default=3.0, help="per step")
    ap.add_argument("--fractions", default="0.5,0.7,0.8,0.9,0.95,1.0",
                    help="rising steps, as fractions of the forwarding limit ('': none)")
    ap.add_argument("--engines", default="fast,reference,ring,softflowd",
                    help="fast, reference, ring (the capture ring alone), softflowd (the peer)")
    ap.add_argument("--rounds", type=int, default=3, help="paired unpaced rounds (0: none)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("trafgen"):
        print("routed benchmark: needs root and trafgen (netsniff-ng); not run")
        return 0
    engines = [e for e in args.engines.split(",") if e]
    if "softflowd" in engines and not shutil.which("softflowd"):
        print("softflowd not installed: the peer is not measured")
        engines.remove("softflowd")
    lab = Lab()
    try:
        forwarded, limit = lab.send(args.limit_packets, None)
        if not limit:
            print(f"routed benchmark: r1 forwarded {forwarded:,} packets; no rate to measure against")
            return 1
        print(f"kernel forwarding limit (no probe; trafgen unpaced, 64 B UDP, {FLOWS} flows): "
              f"{limit:,.0f} packets/s ({forwarded:,} of {args.limit_packets:,} forwarded)")
        fractions = [float(x) for x in args.fractions.split(",") if x]
        if fractions:
            rising(lab, engines, fractions, limit, args.seconds)
        if args.rounds:
            paired(lab, engines, args.rounds, limit, args.seconds)
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
