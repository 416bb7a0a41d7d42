"""Reports of a run: the terminal table, JUnit XML, the artifacts folder and the HTML report."""
