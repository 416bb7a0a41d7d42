"""Send planned IP packets at their times, from inside a lab node.

Run as `python -m testbed.traffic.player PLAN.json` in the node's network
namespace. The plan is {"start": unix_time, "packets": [[t, hex], ...]};
stdout gets {"sent": [unix_time per packet], "errors": [[index, message]]}.
A raw IP socket with IP_HDRINCL sends each packet exactly as crafted.
"""
from __future__ import annotations

import json
import socket
import sys
import time

# Packets of the player carry this mark, so the hosts' "quiet" firewall
# (testbed/run/quiet.py) lets them out while it drops the kernel's own answers.
PLAYER_MARK = 0x4E46


def play(plan: dict) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, PLAYER_MARK)
    start = plan["start"]
    sent, errors = [], []
    for i, (t, hexdata) in enumerate(plan["packets"]):
        data = bytes.fromhex(hexdata)
        wait = start + t - time.time()
        if wait > 0:
            time.sleep(wait)
        dst = socket.inet_ntoa(data[16:20])
        try:
            sock.sendto(data, (dst, 0))
            sent.append(time.time())
        except OSError as exc:
            sent.append(None)
            errors.append([i, str(exc)])
    sock.close()
    return {"sent": sent, "errors": errors}


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        plan = json.load(f)
    json.dump(play(plan), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
