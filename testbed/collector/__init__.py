"""The referee: an independent NetFlow v5, v9 and IPFIX collector (imports nothing
from probe/).

v5 (decode) or v9/ipfix -> templated (templates, held data, flowmap: records)
-> sequence (per-stream accounting, seqrules) -> checks (findings) -> collector
(the pure `Collector`) -> result (queries); jsonl/load write and read a run;
live/capture/cli are the socket, a capture file and `python -m testbed
collect`; process starts one as a subprocess (in a lab host's namespace).
nfcapd runs nfdump's nfcapd beside it and reads its totals back (a second
opinion). docs/ARCHITECTURE.md has the whole map.
"""
from testbed.collector.checks import CheckConfig
from testbed.collector.collector import DECODES, Collector, Received
from testbed.collector.load import load_jsonl
from testbed.collector.model import DatagramInfo, Finding, FiveTuple, FlowRecord, Header, Malformed
from testbed.collector.process import CollectorProcess, mnexec_prefix, start_collector
from testbed.collector.result import CollectorResult, FindingAt, Summary, Totals
from testbed.collector.sequence import ExporterReport, SequenceTracker

__all__ = ["DECODES", "CheckConfig", "Collector", "CollectorProcess", "CollectorResult", "DatagramInfo", "ExporterReport",
           "Finding", "FindingAt", "FiveTuple", "FlowRecord", "Header", "Malformed", "Received",
           "SequenceTracker", "Summary", "Totals", "load_jsonl", "mnexec_prefix", "start_collector"]
