"""`kind: replay` - tcpreplay a capture into an interface, MACs set so the router takes it."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ...schema.kinds import plain, spec
from ..step import RATE, STEPS, Env, Step, StepResult, interface


def _file(r, known, y, got) -> str | None:
    text = r.text(y, "a file name")
    if text is None:
        return None
    path = (known.base_dir / text).resolve()
    if not path.is_file():
        r.error(y, f"no such file: {path}")
        return None
    return str(path)


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Replay(Step):
    kind = "replay"
    interface: str = spec(interface)
    file: str = spec(_file)
    speed: float | None = spec(plain(lambda r, y: r.number(y, positive=True, what="a speed multiplier")),
                               None)
    pps: float | None = spec(RATE, None)
    loop: int = spec(plain(lambda r, y: r.integer(y, 1, 1_000_000, "a loop count")), 1)

    def run(self, env: Env) -> StepResult:
        lab = env.lab
        node_name, ifname = self.interface.split(":")
        node = lab.node(node_name)
        mine = _mac(node, ifname)
        peer = _mac(*_peer(lab, self.interface))
        rewritten = env.workdir / f"step{self.index}.pcap"
        node.run(["tcprewrite", f"--infile={self.file}", f"--outfile={rewritten}",
                  f"--enet-smac={mine}", f"--enet-dmac={peer}", "--fixcsum"])
        argv = ["tcpreplay", "-q", f"--intf1={ifname}", f"--loop={self.loop}"]
        if self.pps:
            argv.append(f"--pps={self.pps}")
        elif self.speed:
            argv.append(f"--multiplier={self.speed}")
        else:
            argv.append("--topspeed")
        node.run(argv + [str(rewritten)])
        return StepResult(f"replayed {Path(self.file).name} into {self.interface}", time.time())


def _mac(node, ifname: str) -> str:
    return json.loads(node.run(["ip", "-j", "link", "show", "dev", ifname]).stdout)[0]["address"]


def _peer(lab, ref: str):
    link = lab.topology.links[lab.topology.interface(ref).link]
    node, ifname = next(r for r in link.endpoints if r != ref).split(":")
    return lab.node(node), ifname
