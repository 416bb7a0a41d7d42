"""The testbed: topology -> lab -> traffic -> collector -> expect -> report."""
