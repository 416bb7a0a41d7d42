"""The live probe: I/O adapters around the sans-IO core (probe.engine.Probe).

capture (AF_PACKET ring) -> [core] -> ..output (UDP); kernel_routes mirrors the
namespace's routes for the core's lookups; ifindex maps kernel interface
indexes to what NetFlow v5 can carry; control + ctl are the operator's
socket; daemon is the poll loop that ties them together.
"""
