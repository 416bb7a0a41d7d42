"""Lab files: YAML -> a validated, frozen `Topology` (errors name file:line: path)."""
from ..schema.errors import Problem, TopologyError
from .load import load, loads, read_checks, read_lab, read_steps, validate
from .model import Collector, Export, Interface, Link, Node, Probe, Route, Topology, split_ref

__all__ = ["load", "loads", "read_lab", "read_steps", "read_checks", "validate", "Problem",
           "TopologyError", "Topology", "Node", "Interface", "Link", "Route", "Probe", "Export",
           "Collector", "split_ref"]
