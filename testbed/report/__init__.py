"""Reports of a run: the terminal table, JUnit XML, and the artifacts folder."""
