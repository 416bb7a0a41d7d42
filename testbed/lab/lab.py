"""`with Lab(topology) as lab:` - build a lab from a Topology, always tear it down.

Every name a run creates carries its run id (`nf` + 4 hex digits): the
Mininet node names (their shells show `mininet:<run>-<node>` in ps), the
state file /run/netflow-lab/<run>.json and the temporary workdir. Cleanup
runs on success, exceptions, Ctrl-C and SIGTERM/SIGHUP; after SIGKILL,
`python -m testbed clean` finishes the job from the state file.
"""
from __future__ import annotations

import re
import secrets
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mininet.node import Node as MininetNode

from ..hosts import LOCAL, Host
from ..topology import Route, Topology, split_ref
from ..plan import RunPlan, resolve
from ..topology.mininet_topo import from_topo
from . import build, shaping
from .clean import teardown
from ..forkserver import ForkServer
from .node import LabError, LabNode
from .remote import ServerLost, SshServer
from .state import STATE_DIR, StateFile

RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
CATCH = (signal.SIGTERM, signal.SIGHUP)
SHELL_THREADS = 4  # per server: node shells started at once over its SSH connection


@dataclass(frozen=True)
class IfRef:
    """An interface ref resolved in the built lab."""

    node: str
    ifname: str
    ifindex: int


def new_run_id() -> str:
    return "nf" + secrets.token_hex(2)


def _reap(node: LabNode) -> None:
    """Wait for our children; kill any teardown missed (an unreaped child's PID is still ours).
    A node on a server: its agent has stopped them (or will, once it misses the coordinator)."""
    for proc in [*node.procs, node.mn.shell] if node.host.local else [node.mn.shell]:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    node.mn.cleanup()  # closes the shell's pty


def _try(fn, errors: list) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
        errors.append(exc)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through `with Lab(...)`, which cleans up


# A workdir path longer than this (a CI runner's workspace, --artifacts deep in it) is given
# to the lab's processes as a short symlink: their Unix sockets in it (a probe's control
# socket, softflowd's -c) must fit in 107 bytes.
LONG_WORKDIR = 48


class Lab:
    def __init__(self, topology: Topology, run_id: str | None = None,
                 workdir: str | Path | None = None, state_dir: str | Path = STATE_DIR):
        if run_id is not None and not RUN_ID.match(run_id):
            raise ValueError(f"bad run id {run_id!r}: up to 16 of a-z, 0-9 and '-'")
        self.topology = topology
        self.run_id = run_id
        # absolute: the lab's processes run in other directories (a probe's --stats-file)
        self.folder = Path(workdir).absolute() if workdir else None  # where its files stay
        self.workdir = self.folder  # the path its processes are given (see _reserve)
        self.state_dir = Path(state_dir)
        self.state: StateFile | None = None
        self.plan: RunPlan | None = None  # once started
        self.nodes: dict[str, LabNode] = {}
        # link index -> its bridge node; tunnels: index and ~index -> the machines' underlays
        self._segments: dict[int, LabNode] = {}
        self._routes: dict[str, list[Route]] = {}  # node -> routes we keep installed
        self._old_handlers: dict[int, object] = {}
        self._fork_servers: dict[str, ForkServer] = {}  # program -> its warm interpreter
        self.servers: dict[str, SshServer] = {}  # the servers reached over SSH, by name
        self.notes: list[str] = []  # what the teardown did
        self.timings: dict[str, float] = {}  # seconds the build spent connecting servers, starting node shells
        self._closed = False

    @classmethod
    def from_topo(cls, topo, expect=None, name: str | None = None, **kw) -> "Lab":
        """The lab of a Mininet Topo (a Topo subclass, a callable that makes one, or one built)
        and an optional lab-file fragment `expect` (collectors, probes, traffic, expect; a file
        or a mapping): testbed/topology/mininet_topo.py. `with Lab.from_topo(MyTopo) as lab:`."""
        return cls(from_topo(topo, expect, name), **kw)

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, plan_of: Callable[[Path], RunPlan] | None = None) -> "Lab":
        """Reserve a run id and a workdir, resolve the run's plan there (`plan_of(workdir)`,
        default: the topology's plain plan) and build it; on any failure, tear down what
        was built and re-raise."""
        if self.state is not None or self._closed:
            raise LabError("a Lab is built once; make a new one")
        self._catch_signals()
        try:
            self._reserve()
            self.plan = (plan_of or (lambda w, run_id: resolve(self.topology, w, run_id=run_id)))(
                self.workdir, self.run_id)
            self._build(self.plan)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop processes, nodes and namespaces this run made. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        masked = self._mask_signals()  # a second Ctrl-C must not cut the cleanup short
        try:
            if self.state is not None:
                # the same path `python -m testbed clean` takes; a server's part by its agent
                self.notes = teardown(self.state, remote=self._server_teardown)
        finally:
            try:
                for node in self.all_nodes():
                    _reap(node)
                for server in self._fork_servers.values():
                    server.close()
            finally:
                self._restore_signals(masked)
                self._restore_signals(self._old_handlers)

    def _server_teardown(self, name: str, part: dict) -> list[str]:
        server = self.servers.get(name)
        if server is None or server.agent is None:  # never connected: nothing of ours runs there
            return []
        if server.lost:
            server.close()
            raise ServerLost(f"{server.lost}; its agent stops what runs there once it misses this machine")
        return [f"server {name}: {n}" for n in server.close()]

    def _catch_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in CATCH:
            if signal.getsignal(sig) is signal.SIG_DFL:  # leave the caller's handlers alone
                self._old_handlers[sig] = signal.signal(sig, _exit_on_signal)

    def _mask_signals(self) -> dict[int, object]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *CATCH)}

    @staticmethod
    def _restore_signals(handlers: dict[int, object]) -> None:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        handlers.clear()

    def _reserve(self) -> None:
        """Pick a run id (reserved by creating its state file) and the workdir."""
        for _ in range(20):
            run_id = self.run_id or new_run_id()
            try:
                self.state = StateFile.create(self.state_dir, run_id, lab=self.topology.name,
                                              topology=self.topology.source)
                break
            except FileExistsError:
                if self.run_id:
                    raise LabError(f"run id {run_id} is in use ({self.state_dir}/{run_id}.json)")
        else:
            raise LabError(f"no free run id in {self.state_dir}")
        self.run_id = run_id
        owned = self.folder is None
        if owned:
            self.folder = self.workdir = Path(tempfile.mkdtemp(prefix=f"netflow-lab-{run_id}-"))
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.state.data.update(workdir=str(self.folder), workdir_owned=owned)
        if len(str(self.folder)) > LONG_WORKDIR:  # a control socket in it would not fit sun_path
            self.workdir = Path(tempfile.gettempdir()) / f"netflow-lab-{run_id}.link"
            self.workdir.unlink(missing_ok=True)  # only a crashed run of this id left one
            self.workdir.symlink_to(self.folder)
            self.state.data.update(workdir_link=str(self.workdir))
        self.state.save()

    def _node(self, name: str, spec, server: str | None = None) -> LabNode:
        host = self.host(server)
        if host.local:
            mn = MininetNode(f"{self.run_id}-{name}")
            self.state.add_node(name, mn.pid, f"mininet:{mn.name}")
            return LabNode(name, mn, spec, self.workdir, self._spawned(None), self.fork_server)
        mn = host.node(f"{self.run_id}-{name}")  # its state entry once the server's shells are up
        return LabNode(name, mn, spec, self.plan.servers[server].workdir, self._spawned(server),
                       host.fork_server, host)

    def _spawned(self, server: str | None):
        def note(node: str, pid: int, argv: list[str], start: int | None = None) -> None:
            self.state.add_process(node, pid, argv, server, start)
        return note

    def host(self, server: str | None) -> Host:
        """The machine a plan's server is: this one, or its SSH connection."""
        return self.servers[server] if server in self.servers else LOCAL

    def host_of(self, node: str) -> Host:
        return self.nodes[node].host

    def record(self, node: str, proc, argv: list[str]) -> None:
        """A process started in `node` outside popen()/fork(): its PID goes in the state file."""
        host = self.host_of(node)
        self.state.add_process(node, proc.pid, argv, None if host.local else host.name, getattr(proc, "start", None))

    def fork_server(self, target: str, warm: tuple[str, ...] = ()) -> ForkServer:
        """The fork server of a program (`module:main`, with the modules it
        imports later), started on first use."""
        old = self._fork_servers.get(target)
        if old is None or old.gone:  # one that went (killed, stuck) is replaced for later starts
            if old is not None:
                old.close()
            self._fork_servers[target] = ForkServer(target, warm)
        return self._fork_servers[target]

    def _connect(self, plan: RunPlan) -> None:
        """An agent on every server, all connecting at once (each pays SSH and its imports)."""
        remote = {n: s for n, s in plan.servers.items() if not s.local}
        for name, s in remote.items():
            self.state.add_server(name, host=s.server.host, user=s.server.user, port=s.server.port,
                                  python=s.server.python, sudo=s.server.sudo, workdir=str(s.workdir),
                                  control_dir=tempfile.gettempdir())
            self.servers[name] = SshServer(name, s.server, s.workdir, plan.mirror(name), self.run_id,
                                           Path(tempfile.gettempdir()))  # short: a Unix socket's path
        errors = []
        threads = [threading.Thread(target=_try, args=(srv.connect, errors)) for srv in self.servers.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, server in self.servers.items():
            if server.agent_process is not None:
                self.state.data["servers"][name]["agent"] = server.agent_process
        self.state.save()
        if errors:
            raise errors[0]

    def _shells(self, plan: RunPlan) -> None:
        """Every node's shell; a server's are started over its connection, in a thread per server."""
        topo = self.topology
        wanted = [(spec.name, spec, plan.placement.get(spec.name)) for spec in topo.nodes.values()]
        for link in topo.links:
            server = plan.placement.get(link.nodes[0])
            if link.is_segment:
                wanted.append((f"link{link.index}.br", None, server))
            if link.tunnel and link.index not in plan.tunnels:  # the two machines it joins (~index: the second)
                wanted += [(f"link{link.index}.m1", None, server), (f"link{link.index}.m2", None, server)]
        made: dict[str, LabNode] = {}
        errors: list[BaseException] = []

        def on(server: str | None, k: int = 0, of: int = 1) -> None:
            mine = [w for w in wanted if (w[2] if w[2] in self.servers else None) == server]
            for name, spec, where in mine[k::of]:
                made[name] = self._node(name, spec, where)
        # a server's shells in a few threads: each waits for its SSH session and remote bash
        threads = [threading.Thread(target=_try, args=(lambda s=s, k=k: on(s, k, SHELL_THREADS), errors))
                   for s in self.servers for k in range(SHELL_THREADS)]
        for t in threads:
            t.start()
        try:
            on(None)
        finally:
            for t in threads:
                t.join()
        for name, node in made.items():  # teardown reaps them even if one failed
            self.nodes[name] = node
        for name, server in self.servers.items():
            mine = {n: node for n, node in made.items() if node.host is server}
            info = server.info([node.pid for node in mine.values()])
            part = {}
            for n, node in mine.items():
                start, netns = info[node.pid]
                self.state.add_node(n, node.pid, f"mininet:{node.mn.name}", name, start, netns)
                part[n] = self.state.data["nodes"][n]
            server.adopt(part)
        if errors:
            raise errors[0]
        for link in topo.links:
            for key, name in ((link.index, f"link{link.index}.br"), (link.index, f"link{link.index}.m1"),
                              (~link.index, f"link{link.index}.m2")):
                if name in self.nodes:
                    self._segments[key] = self.nodes.pop(name)

    def _build(self, plan: RunPlan) -> None:
        topo = self.topology
        t0 = time.monotonic()
        self._connect(plan)
        t1 = time.monotonic()
        self._shells(plan)
        t2 = time.monotonic()
        self.timings.update(connect=t1 - t0, shells=t2 - t1)  # docs/scale.md
        ifindexes, macs = plan.ifindexes, plan.macs
        build.run_batches(build.plan_create(topo, self.nodes, self._segments, ifindexes, macs, plan.tunnels))
        build.run_batches(build.plan_tunnels(topo, self.nodes, self._segments, ifindexes, macs),
                          build.plan_between(topo, self.nodes, self.servers, plan))
        with self.state.batch():
            for spec in topo.nodes.values():
                for i in spec.interfaces:
                    self.state.add_interface(spec.name, i.name, ifindexes[i.ref])
        build.run_batches(build.plan_configure(topo, self.nodes, self._segments))
        shaping.run_shaping(shaping.plan_shaping(topo, self.nodes, self._segments))  # links with bw:
        self._routes = {n: list(spec.routes) for n, spec in topo.nodes.items()}

    # -- looking things up --------------------------------------------------
    def node(self, name: str) -> LabNode:
        return self.nodes[name]

    def all_nodes(self) -> list[LabNode]:
        """The lab's nodes and the hidden ones (a segment's bridge, a tunnel's two machines)."""
        return [*self.nodes.values(), *self._segments.values()]

    def interface(self, ref: str) -> IfRef:
        """'r1:eth1' -> IfRef('r1', 'eth1', <the kernel's ifindex>)."""
        self.topology.interface(ref)  # KeyError for a ref the file does not have
        node, ifname = split_ref(ref)
        return IfRef(node, ifname, self.nodes[node].ifindex(ifname))

    def address_of(self, node: str, on_link_with: str | None = None) -> str:
        """A node's address (on the link it shares with `on_link_with`), as a string."""
        return str(self.topology.address_of(node, on_link_with))

    # -- changing things ----------------------------------------------------
    def _link_ends(self, ref: str) -> list[tuple[LabNode, str]]:
        """The interface and its other end (a peer's interface, or its bridge port)."""
        iface = self.topology.interface(ref)
        if iface.link is None:
            return [(self.nodes[iface.node], iface.name)]
        link = self.topology.links[iface.link]
        if link.is_segment:
            k = link.endpoints.index(ref)
            return [(self.nodes[iface.node], iface.name),
                    (self._segments[link.index], build.port_name(k))]
        return [(self.nodes[split_ref(r)[0]], split_ref(r)[1]) for r in link.endpoints]

    def link_down(self, ref: str) -> None:
        """Take the link of interface `ref` down at both ends (the kernel drops its routes)."""
        for node, ifname in self._link_ends(ref):
            node.run(["ip", "link", "set", "dev", ifname, "down"])

    def link_up(self, ref: str) -> None:
        """Bring it back, and re-install the static routes the kernel dropped with it."""
        for node, ifname in self._link_ends(ref):
            node.run(["ip", "link", "set", "dev", ifname, "up"])
            for route in self._routes.get(node.name, []):
                if route.dev == ifname:
                    node.run(["ip", "route", "replace", *route.iproute_args()])

    def route(self, node: str, action: str, route: Route) -> None:
        """`ip route add|delete|change|replace` in `node`; link_up re-installs what is kept."""
        if action not in ("add", "delete", "change", "replace"):
            raise ValueError(f"unknown route action {action!r}")
        self.nodes[node].run(["ip", "route", action, *route.iproute_args()])
        kept = [r for r in self._routes.setdefault(node, [])
                if (r.prefix, r.metric) != (route.prefix, route.metric)]
        self._routes[node] = kept if action == "delete" else kept + [route]
