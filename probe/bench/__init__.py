"""Benchmarks and test inputs for the probe: a deterministic pcap generator
(`gen`), and `python -m probe.bench` (probe vs softflowd on the same file)."""
