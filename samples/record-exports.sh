#!/usr/bin/env bash
# Record samples/exports.pcap: what softflowd 1.1 exports, in NetFlow v9 (to UDP
# 2055) and IPFIX (to 4739), captured by tcpdump as it went over the loopback of
# a network namespace of its own (removed at the end; nothing leaves it). The
# traffic softflowd reads is tests/collector/crosscheck.py's: TCP, UDP, ICMP,
# IPv6 and 120 one-packet flows, so that each version takes several datagrams.
# The reference collector listens on both ports (so nothing is refused).
# Usage: samples/record-exports.sh [OUT.pcap]   (then: python -m testbed collect --read OUT.pcap)
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null && exec sudo -E "$0" "$@"
  echo "$0: run as root" >&2; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$here/exports.pcap}
ns=nfexp$$
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
at() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
at ip link set lo up
cd "$root"
.venv/bin/python -c "import sys, time; from pathlib import Path; sys.path.insert(0, 'tests/collector'); \
import crosscheck; crosscheck.traffic(Path('$work/in.pcap'), time.time() + 1)"
# (not through `at`: a function in the background is a subshell, and $! would be its pid)
ip netns exec "$ns" tcpdump -i lo -w "$work/out.pcap" -U 'udp port 2055 or udp port 4739' 2>/dev/null &
pids+=($!)
for port in 2055 4739; do
  ip netns exec "$ns" .venv/bin/python -m testbed collect --listen 127.0.0.1:$port --quiet >/dev/null &
  pids+=($!)
done
sleep 2  # tcpdump and the collectors are up
at softflowd -r "$work/in.pcap" -v 9 -a -n 127.0.0.1:2055 -c none -d >/dev/null
at softflowd -r "$work/in.pcap" -v 10 -a -n 127.0.0.1:4739 -c none -d >/dev/null
sleep 1
kill -TERM "${pids[0]}"  # tcpdump writes its file and ends
wait "${pids[0]}" || true
cp "$work/out.pcap" "$out"
echo "$out: $(tcpdump -r "$out" 2>/dev/null | wc -l) export datagrams"
