"""`ping(node, dst)`: ICMP echo from inside a node, without the ping binary (not on CI).

A raw ICMP socket in a short Python child started in the node's namespace;
returns how many of `count` echo requests were answered.
"""
from __future__ import annotations

import sys

from .node import LabNode

_SCRIPT = r"""
import os, select, socket, struct, sys, time
dst, count, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, got = os.getpid() & 0xFFFF, 0
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF); t += t >> 16
    return ~t & 0xFFFF
for seq in range(count):
    body = struct.pack("!HH", ident, seq) + b"netflow-lab"
    s.sendto(struct.pack("!BBH", 8, 0, csum(b"\x08\x00\x00\x00" + body + b"\x00")) + body, (dst, 0))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
            break
        data, (src, _) = s.recvfrom(2048)
        icmp = data[(data[0] & 15) * 4:]
        if src == dst and icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            got += 1
            break
print(got)
"""


def ping(node: LabNode, dst: str, count: int = 1, timeout: float = 1.0) -> int:
    out = node.run([sys.executable, "-c", _SCRIPT, dst, str(count), str(timeout)]).stdout
    return int(out.strip() or 0)
