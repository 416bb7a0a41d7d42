"""JUnit XML: one testcase per check, for CI systems that show test reports."""
from __future__ import annotations

import xml.etree.ElementTree as ET


def write(result, path) -> None:
    failures = sum(not v.passed for v in result.verdicts)
    suite = ET.Element("testsuite", name=f"netflow-lab.{result.lab}", tests=str(len(result.verdicts)),
                       failures=str(failures), errors="0", time=f"{result.seconds:.3f}")
    for v in result.verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"{result.lab}.{v.kind}", name=v.name)
        if v.passed:
            ET.SubElement(case, "system-out").text = v.observed
        else:
            text = "\n".join(v.problems) + (f"\n{v.hint}" if v.hint else "")
            ET.SubElement(case, "failure", message=(v.problems[0] if v.problems else "failed")).text = text
    ET.ElementTree(suite).write(
        path, encoding="unicode", xml_declaration=True)
