"""JUnit XML: one testcase per check, for CI systems that show test reports.

One lab: a <testsuite>; several labs (`run A B ...`): one <testsuites> file
holding a <testsuite> per lab. Every text is made printable first: a control
character (NUL, BEL, ESC) cannot be in XML 1.0, and a CI page shows the file.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..schema.printable import printable as P


def suite(result) -> ET.Element:
    failures = sum(not v.passed for v in result.verdicts)
    skipped = sum(bool(getattr(v, "na", "")) for v in result.verdicts)
    out = ET.Element("testsuite", name=P(f"netflow-lab.{result.lab}"), tests=str(len(result.verdicts)),
                     failures=str(failures), errors="0", skipped=str(skipped), time=f"{result.seconds:.3f}")
    for v in result.verdicts:
        case = ET.SubElement(out, "testcase", classname=P(f"{result.lab}.{v.kind}"), name=P(v.name))
        if getattr(v, "na", ""):  # the exporter does not claim what the check relies on
            ET.SubElement(case, "skipped", message=P(f"n/a: {v.na}"))
        elif v.passed:
            ET.SubElement(case, "system-out").text = P(v.observed)
        else:
            text = "\n".join(v.problems) + (f"\n{v.hint}" if v.hint else "")
            ET.SubElement(case, "failure", message=P(v.problems[0] if v.problems else "failed")).text = P(text)
    return out


def write(results: list, path) -> None:
    if len(results) == 1:
        root = suite(results[0])
    else:
        root = ET.Element("testsuites", name="netflow-lab", tests=str(sum(len(r.verdicts) for r in results)),
                          failures=str(sum(not v.passed for r in results for v in r.verdicts)))
        root.extend(suite(r) for r in results)
    ET.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)
