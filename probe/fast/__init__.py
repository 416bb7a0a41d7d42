"""The fast engine: the reference engine's rules (probe/engine.py) in a
compiled, table-based core, for capture rates the Python engine cannot reach.

`FastProbe` has `Probe`'s interface plus batch calls; `offline.run_file`
drives it over a capture file chunk by chunk. Quirks are not implemented
here: `choose.engine_name` picks the reference engine for them.
"""
