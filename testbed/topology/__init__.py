"""Lab files: YAML -> a validated, frozen `Topology` (errors name file:line: path)."""
from .errors import Problem, TopologyError
from .load import load, loads, validate
from .model import (Check, Collector, Export, Interface, Link, Match, Node, Probe, Route, Step,
                    Topology, split_ref)

__all__ = ["load", "loads", "validate", "Problem", "TopologyError", "Topology", "Node",
           "Interface", "Link", "Route", "Probe", "Export", "Collector", "Step", "Check",
           "Match", "split_ref"]
