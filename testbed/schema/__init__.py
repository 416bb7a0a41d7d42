"""Reading YAML we can point into: `Y` trees with lines, typed field readers,
problems as `file:line: path: message`, and kinds (one frozen dataclass per
kind of list entry, read with its defaults)."""
