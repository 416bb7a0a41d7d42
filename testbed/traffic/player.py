"""Send planned packets at their times, from inside lab nodes, and say when each left.

Crafted traffic: `python -m testbed.traffic.player PLAN.json` in the node's
network namespace. The plan is {"start": unix_time, "packets": [[t, hex], ...]};
stdout gets {"sent": [unix_time per packet], "errors": [[index, message]]}.
A raw IP socket with IP_HDRINCL sends each packet exactly as crafted.

Replayed frames: the plan is {"frames": PCAPNG, "ports": {NAME: {"netns": PATH,
"ifname": IF}}, "sent": FILE, "lead": S, "rounds": K, "period": P}. Each pcapng
interface NAME is a packet socket on IF in the namespace PATH (one process
holds them all, so both sides of a conversation keep their recorded order); a
packet's timestamp is its offset in ns from the start of its round, which is
`lead` seconds after the sockets are open, plus P seconds per round before it.
The file is read as the frames are sent, once per round: nothing is held.
FILE gets one float64 per send (unix send time, NaN if it failed), written as
it goes; stdout gets {"start": T, "errors": [[index, message]] (the first few),
"failed": N}.
"""
from __future__ import annotations

import json
import math
import socket
import sys
import time
from array import array
from itertools import islice

from ..forkserver import CLONE_NEWNET, setns
from ..pcap import read

# Packets of the player carry this mark, so the hosts' "quiet" firewall
# (testbed/run/quiet.py) lets them out while it drops the kernel's own answers.
PLAYER_MARK = 0x4E46
ERRORS_SHOWN = 20
CHUNK = 4096  # frames read ahead of their send times


def _pace(start: float, items, send, sent: array, errors: list, first: int = 0) -> int:
    """Send each (t, target, data) at start + t; the send time (NaN: failed) of each goes
    to `sent`, the first ERRORS_SHOWN errors to `errors` (with their index: `first` is
    the index of the first item). Returns how many failed."""
    failed = 0
    for t, target, data in items:
        wait = start + t - time.time()
        if wait > 0:
            time.sleep(wait)
        try:
            send(data, target)
            sent.append(time.time())
        except OSError as exc:
            failed += 1
            if len(errors) < ERRORS_SHOWN:
                errors.append([first + len(sent), str(exc)])
            sent.append(math.nan)
    return failed


def play(plan: dict) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, PLAYER_MARK)
    items = []
    for t, hexdata in plan["packets"]:
        data = bytes.fromhex(hexdata)
        items.append((t, (socket.inet_ntoa(data[16:20]), 0), data))
    sent, errors = array("d"), []
    try:
        _pace(plan["start"], items, sock.sendto, sent, errors)
    finally:
        sock.close()
    return {"sent": [None if math.isnan(t) else t for t in sent], "errors": errors}


def play_frames(plan: dict) -> dict:
    socks = {}
    for name, port in plan["ports"].items():
        setns(port["netns"], CLONE_NEWNET)  # a socket stays in the namespace it was made in
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.bind((port["ifname"], 0))
        socks[name] = s
    start = time.time() + plan.get("lead", 0.05)
    errors: list = []
    failed = done = 0
    try:
        with open(plan["sent"], "wb") as out:
            for k in range(plan.get("rounds", 1)):
                begin = start + k * plan.get("period", 0.0)
                with open(plan["frames"], "rb") as f:
                    frames = read(f)
                    while True:  # a chunk at a time: its send times go to the file
                        sent = array("d")
                        chunk = [(c.ts_ns / 1e9, socks[c.ifname], c.data) for c in islice(frames, CHUNK)]
                        if not chunk:
                            break
                        failed += _pace(begin, chunk, lambda data, s: s.send(data), sent, errors, done)
                        sent.tofile(out)
                        done += len(chunk)
    finally:
        for s in socks.values():
            s.close()
    return {"start": start, "errors": errors, "failed": failed}


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        plan = json.load(f)
    json.dump(play_frames(plan) if "frames" in plan else play(plan), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
