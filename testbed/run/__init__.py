"""`python -m testbed run topo.yaml`: build -> collectors -> probes -> traffic -> wait -> stop -> verdicts."""
