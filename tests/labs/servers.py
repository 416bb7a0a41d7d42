"""Simulated servers for labs spread over machines, honest enough to stand for real ones.

Each server is a network namespace and a mount namespace of its own, made by the test:
its own sshd (Debian's openssh-server, a host key and an authorized key made for the
test, nothing of the machine's own sshd or ~/.ssh touched), its own /tmp and /run (so
nothing can rely on a file system shared with the coordinator: a file the lab does not
copy back over SSH is not there), and a root with no login scripts. An underlay veth
joins it to a bridge in the coordinator's namespace (10.250.0.0/24, MTU 1600 so that a
VXLAN overlay keeps 1500); the coordinator, `python -m testbed ...`, runs in that
namespace, so it reaches the servers only by SSH over the underlay, and everything
stays inside namespaces the test made (the root namespace is not used at all).

    with Cluster(tmp_path, ["a", "b"]) as cl:
        cl.testbed("run", "lab.yaml", "--servers", cl.servers_option())
        cl.leftovers("a")   # processes, namespaces, files the run left on server a
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the top folder of /tmp or /run the checkout lives in (a server's own /tmp shows it), or None
_HIDDEN = next((ROOT.relative_to(top).parts[0] for top in ("/tmp", "/run") if ROOT.is_relative_to(top)), None)
SUBNET = "10.250.0"
BRIDGE = "nfcl0"
MTU = 1600


def _sh(*argv, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check, **kw)


def _in(pid: int, *argv, mount=False, **kw) -> subprocess.CompletedProcess:
    return _sh("nsenter", "-t", pid, "-n", *(["-m"] if mount else []), *argv, **kw)


def _holder(*flags: str) -> subprocess.Popen:
    """A process holding new namespaces (it is their first process; they go with it).
    Returned once it is in them: `unshare` makes them after its start, and anything
    entering a namespace of its PID before would enter this machine's own."""
    proc = subprocess.Popen(["unshare", *flags, "sleep", "infinity"], stdin=subprocess.DEVNULL,
                            start_new_session=True)
    kinds = ["net"] + (["mnt"] if "--mount" in flags else [])
    deadline = time.monotonic() + 10
    while any(_ns(proc.pid, k) == _ns(os.getpid(), k) for k in kinds):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"unshare {' '.join(flags)} did not make its namespaces")
        time.sleep(0.01)
    return proc


def _ns(pid: int, kind: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


@dataclass
class Server:
    name: str
    address: str
    holder: subprocess.Popen
    sshd: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.holder.pid


class Cluster:
    def __init__(self, folder: Path, names: list[str], tag: str | None = None) -> None:
        self.dir = folder
        self.names = names
        self.tag = tag or f"c{os.getpid() % 10000}"  # veth names in the coordinator's namespace
        self.servers: dict[str, Server] = {}
        self.coordinator: subprocess.Popen | None = None
        self.state_dir = folder / "state"
        self.env = {**os.environ, "NETFLOW_LAB_SSH_CONFIG": str(folder / "ssh_config")}

    # -- set up -------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(exist_ok=True)
        for key in ("id", "hostkey"):
            _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"netflow-lab test {key}", "-f", d / key)
        shutil.copy(d / "id.pub", d / "authorized_keys")
        (d / "empty").write_text("")
        host_key = (d / "hostkey.pub").read_text().split()[:2]
        self.coordinator = _holder("--net")
        c = self.coordinator.pid
        _in(c, "ip", "link", "set", "lo", "up")
        _in(c, "ip", "link", "add", BRIDGE, "mtu", MTU, "type", "bridge")
        _in(c, "ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        _in(c, "ip", "link", "set", BRIDGE, "up")
        known = []
        for k, name in enumerate(self.names, 1):
            address = f"{SUBNET}.{10 + k}"
            server = self.servers[name] = Server(name, address, _holder("--net", "--mount", "--propagation", "private"))
            p = server.pid
            # its own /run and /tmp; the test's folder (keys, sshd_config) as /run/nfcl; a quiet root login.
            # Never in this machine's mount namespace: the script checks it is in another one first
            # A checkout under /tmp or /run (a CI runner's clone) stays at its own path on the
            # server, as the project is on a real one: held on /mnt while those are replaced.
            keep = _HIDDEN is not None
            script = ('[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || exit 99; '
                      + (f"mount --bind {ROOT} /mnt && " if keep else "")
                      + "mount -t tmpfs tmpfs /run && mkdir -p /run/sshd /run/nfcl && "
                      f"mount --bind {d} /run/nfcl && mount -t tmpfs tmpfs /tmp && "
                      + (f"mkdir -p {ROOT} && mount --bind /mnt {ROOT} && " if keep else "")
                      + "for f in /root/.bashrc /root/.profile /root/.bash_profile; do "
                      "[ -e $f ] && mount --bind /run/nfcl/empty $f; done; true")
            _sh("nsenter", "-t", p, "-m", "sh", "-c", script)
            veth = f"{self.tag}{name}"[:15]
            _sh("ip", "link", "add", veth, "mtu", MTU, "netns", c, "type", "veth", "peer", "name", "u0",
                "mtu", MTU, "netns", p)
            _in(c, "ip", "link", "set", veth, "master", BRIDGE, "up")
            _in(p, "ip", "link", "set", "lo", "up")
            _in(p, "ip", "addr", "add", f"{address}/24", "dev", "u0")
            _in(p, "ip", "link", "set", "u0", "up")
            config = d / f"sshd_config.{name}"
            config.write_text("\n".join([
                f"ListenAddress {address}", "HostKey /run/nfcl/hostkey", "PidFile none",
                "AuthorizedKeysFile /run/nfcl/authorized_keys", "PermitRootLogin prohibit-password",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "UseDNS no", "MaxSessions 1000", "MaxStartups 100", "LogLevel ERROR",
                # a lost coordinator's connections go within seconds (docs/scale.md: real servers too)
                "ClientAliveInterval 1", "ClientAliveCountMax 3", ""]))
            server.sshd = subprocess.Popen(["nsenter", "-t", str(p), "-n", "-m", "/usr/sbin/sshd", "-D", "-e", "-f",
                                            f"/run/nfcl/{config.name}"], stdin=subprocess.DEVNULL,
                                           stdout=open(d / f"sshd.{name}.log", "wb"), stderr=subprocess.STDOUT,
                                           start_new_session=True)
            known.append(f"{address} {' '.join(host_key)}")
        (d / "known_hosts").write_text("\n".join(known) + "\n")
        (d / "ssh_config").write_text("\n".join([
            "Host *", "  User root", f"  IdentityFile {d / 'id'}", "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {d / 'known_hosts'}", "  StrictHostKeyChecking yes", "  LogLevel ERROR", ""]))
        for name in self.names:
            self._wait_ssh(name)

    def _wait_ssh(self, name: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            got = self.ssh(name, "true", check=False)
            if got.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of server {name} does not answer: {got.stderr}")
            time.sleep(0.2)

    # -- use ------------------------------------------------------------------------
    def servers_option(self, names: list[str] | None = None) -> str:
        return ",".join(f"{n}={self.servers[n].address}" for n in (names or self.names))

    def ssh(self, name: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
        return _in(self.coordinator.pid, "ssh", "-F", self.dir / "ssh_config", "-o", "BatchMode=yes",
                   self.servers[name].address, command, check=check, timeout=30)

    def coordinator_argv(self, *args) -> list[str]:
        """`python -m testbed ARGS`, run in the coordinator's namespace."""
        return ["nsenter", "-t", str(self.coordinator.pid), "-n", sys.executable, "-m", "testbed",
                *map(str, args)]

    def testbed(self, *args, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(self.coordinator_argv(*args), cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def spawn(self, *args) -> subprocess.Popen:
        return subprocess.Popen(self.coordinator_argv(*args), cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def underlay(self, name: str, state: str) -> None:
        """Take a server's network down (up): it becomes unreachable, as a cut cable does."""
        _in(self.servers[name].pid, "ip", "link", "set", "u0", state)

    # -- what a run left on a server ---------------------------------------------------------
    def processes(self, name: str) -> dict[int, str]:
        """Every process on the server but its holder and sshd's listener: pid -> command line.
        A process is on the server when its /tmp is the server's own (lab nodes have mount
        namespaces of their own, copied from the server's: `mnexec -n`), orphans included."""
        s = self.servers[name]
        tmp = os.stat(f"/proc/{s.pid}/root/tmp").st_dev
        if tmp == os.stat("/tmp").st_dev:  # never this machine's own processes
            raise RuntimeError(f"server {name} has no /tmp of its own")
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (s.pid, s.sshd.pid if s.sshd else -1):
                continue
            try:
                if os.stat(f"/proc/{entry}/root/tmp").st_dev != tmp:
                    continue
                cmd = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            out[int(entry)] = cmd
        return out

    def namespaces(self, name: str) -> set[int]:
        """Network namespaces in use on the server besides its own (lab nodes)."""
        s = self.servers[name]
        own = _ns(s.pid, "net")
        found = set()
        for pid in self.processes(name):
            try:
                inode = _ns(pid, "net")
            except OSError:
                continue
            if inode != own:
                found.add(inode)
        return found

    def files(self, name: str) -> list[str]:
        """What is in the server's own /tmp (but the checkout, when it lives there)."""
        got = _sh("nsenter", "-t", self.servers[name].pid, "-m", "ls", "-A", "/tmp")
        return [f for f in got.stdout.split() if not (f == _HIDDEN and ROOT.is_relative_to("/tmp"))]

    def links(self, name: str) -> list[str]:
        """Interfaces of the server's own network namespace."""
        got = _in(self.servers[name].pid, "ip", "-o", "link", "show")
        return [line.split(":")[1].strip().split("@")[0] for line in got.stdout.splitlines()]

    def leftovers(self, name: str, wait: float = 0.0) -> dict:
        """What a run left on a server (empty: nothing), waiting up to `wait` s for it to go."""
        deadline = time.monotonic() + wait
        while True:
            found = {k: v for k, v in (("processes", self.processes(name)), ("files", self.files(name)),
                                        ("links", [x for x in self.links(name) if x not in ("lo", "u0")]))
                     if v}
            if not found or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)

    # -- tear down ------------------------------------------------------------------------
    def close(self) -> None:
        for s in self.servers.values():
            for pid in self.processes(s.name) if s.holder.poll() is None else []:
                try:
                    os.kill(pid, signal.SIGKILL)  # only processes in this server's own mount namespace
                except ProcessLookupError:
                    pass
            for proc in (s.sshd, s.holder):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if self.coordinator is not None and self.coordinator.poll() is None:
            self.coordinator.kill()
            self.coordinator.wait()
