"""`python -m probe ctl PATH stats|show|timeouts|flush`: the control socket's client.

Like softflowctl/flowctl. Prints a readable answer, or the raw reply with
--json. A missing socket, a probe that is gone (or dies while it answers),
or a socket whose program does not answer as a probe does is one line on
stderr and exit status 2; a request the probe refused is exit status 1. A
reader that stops early (`| head`) ends it quietly with status 141, as a
C tool killed by SIGPIPE.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import stat
import sys
import time

from ..options import Parser, seconds_arg
from .control import UNIX_PATH_MAX
from ..stats import format_counters

TIMEOUT_S = 10.0  # for the whole reply (the probe gives a client 5 s)
MAX_REPLY = 1 << 30  # a program that never ends its line is not a probe
EXIT_SIGPIPE = 141
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # C0 but newline, DEL, C1


class CtlError(Exception):
    pass


def request(path: str, req: dict, timeout: float = TIMEOUT_S) -> dict:
    if len(os.fsencode(path)) > UNIX_PATH_MAX:
        raise CtlError(f"{path}: too long for a Unix socket path (at most {UNIX_PATH_MAX} bytes)")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise CtlError(f"no control socket at {path} (is the probe running?)") from None
        except ConnectionRefusedError:
            if not _is_socket(path):
                raise CtlError(f"{path} is not a control socket (give the probe's --control path)") from None
            raise CtlError(f"the probe behind {path} is gone (connection refused)") from None
        except PermissionError:
            raise CtlError(f"permission denied on {path} (the control socket is root only)") from None
        except OSError as exc:
            raise CtlError(f"cannot connect to {path}: {exc.strerror}") from None
        data = _exchange(sock, path, json.dumps(req).encode() + b"\n", time.monotonic() + timeout)
    finally:
        sock.close()
    if not data:
        raise CtlError(f"the probe at {path} closed the connection without an answer")
    if not data.endswith(b"\n"):
        raise CtlError(f"the probe at {path} stopped in the middle of its answer "
                       f"({len(data)} bytes, cut off: did it exit?)")
    try:
        reply = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        raise CtlError(f"{path} answered {_quote(data)}: not a probe's reply "
                       "(is it another program's socket?)") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise CtlError(f"{path} answered {_quote(data)}: not a probe's reply (a JSON object with \"ok\")")
    return reply


def _exchange(sock: socket.socket, path: str, request_line: bytes, deadline: float) -> bytes:
    """Send the request line; the reply up to its newline (or what came before the end)."""
    chunks, size = [b""], 0
    try:
        sock.sendall(request_line)
        while not chunks[-1].endswith(b"\n"):  # a long `show` comes in many pieces
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            sock.settimeout(left)
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY:
                raise CtlError(f"{path} sent more than {MAX_REPLY} bytes without ending its reply")
    except OSError as exc:
        raise CtlError(f"the probe at {path} did not answer: {exc.strerror or exc}") from None
    return b"".join(chunks)


def _quote(data: bytes, most: int = 60) -> str:
    """The start of what a foreign program sent, printable."""
    text = data[:most].decode("ascii", "backslashreplace")
    return repr(text + ("..." if len(data) > most else ""))


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the probe's control socket (its --control)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON reply")
    sub = parser.add_subparsers(dest="ctl_cmd", required=True, metavar="COMMAND")
    sub.add_parser("stats", help="all counters, ring drops included")
    show = sub.add_parser("show", help="the flow cache, like flowctl show")
    show.add_argument("--limit", type=int, default=0, help="at most N flows (0: all)")
    tmo = sub.add_parser("timeouts", help="set timeouts (take effect at once)")
    tmo.add_argument("--active", type=seconds_arg, metavar="S")
    tmo.add_argument("--inactive", type=seconds_arg, metavar="S")
    sub.add_parser("flush", help="expire every flow and send it now")


def run(args: argparse.Namespace) -> int:
    req: dict = {"cmd": args.ctl_cmd}
    if args.ctl_cmd == "show":
        req["limit"] = args.limit
    elif args.ctl_cmd == "timeouts":
        if args.active is None and args.inactive is None:
            print("probe ctl: timeouts needs --active and/or --inactive", file=sys.stderr)
            return 2
        req.update(active=args.active, inactive=args.inactive)
    try:
        reply = request(args.path, req)
    except CtlError as exc:
        print(f"probe ctl: {exc}", file=sys.stderr)
        return 2
    if not reply["ok"]:
        print(f"probe ctl: {_printable(str(reply.get('error', 'refused')))}", file=sys.stderr)
        return 1
    try:
        text = json.dumps(reply, indent=1) if args.json else _text(args.ctl_cmd, reply)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        print(f"probe ctl: {args.path} answered {args.ctl_cmd} with a reply of the wrong shape: "
              f"{_quote(json.dumps(reply).encode())}", file=sys.stderr)
        return 2
    return _print(text)


def _printable(text: str) -> str:
    """No control characters from the wire on the terminal (an ESC sequence could retitle it)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _print(text: str) -> int:
    """Print; a reader that went away (`| head`) ends it quietly, status 141 (as SIGPIPE would)."""
    try:
        print(_printable(text), flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left for the interpreter's final flush
        return EXIT_SIGPIPE
    return 0


def _text(cmd: str, reply: dict) -> str:
    if cmd == "stats":
        return format_counters(reply["stats"])
    if cmd == "show":
        head = (f"{'SrcIf':>5} {'SrcIPaddress':<15} {'DstIf':>5} {'DstIPaddress':<15} {'Pr':>3} "
                f"{'SrcP':>5} {'DstP':>5} {'Pkts':>8} {'Bytes':>10} {'Flg':>4} {'NextHop':<15} "
                f"{'SM':>2} {'DM':>2} {'Age':>7} {'Idle':>6}")
        rows = [head] + [
            f"{f['in_ifindex']:>5} {f['src']:<15} {f['out_ifindex']:>5} {f['dst']:<15} "
            f"{f['proto']:>3} {f['sport']:>5} {f['dport']:>5} {f['packets']:>8} {f['octets']:>10} "
            f"{f['tcp_flags']:>#4x} {f['next_hop']:<15} {f['src_mask']:>2} {f['dst_mask']:>2} "
            f"{f['age_ms'] / 1000:>7.1f} {f['idle_ms'] / 1000:>6.1f}"
            for f in reply["flows"]]
        rows.append(f"{reply['total']} flows" + (f" ({len(reply['flows'])} shown)"
                                                  if len(reply["flows"]) < reply["total"] else ""))
        return "\n".join(rows)
    if cmd == "timeouts":
        return f"active {reply['active_s']:g} s, inactive {reply['inactive_s']:g} s"
    if cmd == "flush":
        return f"flushed {reply['flushed']} flows, {reply['datagrams']} datagrams sent"
    return json.dumps(reply)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="probe ctl", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:
        print("probe ctl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
