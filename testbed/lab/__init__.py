"""Labs: a Topology built with Mininet nodes, per-run names, a state file, sure cleanup."""
from .clean import clean
from .lab import IfRef, Lab, new_run_id
from .node import LabError, LabNode
from .state import STATE_DIR

__all__ = ["Lab", "LabNode", "LabError", "IfRef", "clean", "new_run_id", "STATE_DIR"]
