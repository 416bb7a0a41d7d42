"""Helper run as a subprocess by the lab tests: build a lab, report, then close or hold.

    python labrun.py TOPOLOGY STATE_DIR close|hold

Prints one JSON line once the lab is up (run id, node PIDs, a process it
started in r1, how many of 3 pings from h1 to h2 came back); `hold` then
sleeps until killed, `close` tears the lab down and exits.
"""
import json
import sys
import time

from testbed.lab import Lab
from testbed.lab.reach import ping
from testbed.topology import load

topo_file, state_dir, mode = sys.argv[1:4]
with Lab(load(topo_file), state_dir=state_dir) as lab:
    proc = lab.node("r1").popen(["sleep", "600"])
    report = {"run_id": lab.run_id, "state": str(lab.state.path),
              "nodes": {n: node.pid for n, node in lab.nodes.items()},
              "netns": {n: v["netns"] for n, v in lab.state.data["nodes"].items()},
              "proc": proc.pid, "workdir": str(lab.workdir),
              "ping": ping(lab.node("h1"), lab.address_of("h2"), count=3)}
    print(json.dumps(report), flush=True)
    if mode == "hold":
        time.sleep(600)
