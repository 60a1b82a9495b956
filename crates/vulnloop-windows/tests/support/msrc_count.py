"""Count MSRC CVRF vulnerabilities and KB remediations with Python's XML parser.

Usage: msrc_count.py DIR. Reads every *.xml in DIR and prints one JSON object:
documents, vulnerabilities, and kb_remediations (Vendor Fix remediations whose
Description is a KB number), as an oracle independent of the Rust parser.
"""
import json
import pathlib
import sys
import xml.etree.ElementTree as ET

VULN = "{http://www.icasi.org/CVRF/schema/vuln/1.1}"

documents = vulnerabilities = kb_remediations = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    root = ET.parse(path).getroot()
    documents += 1
    for vulnerability in root.iter(VULN + "Vulnerability"):
        vulnerabilities += 1
        for remediation in vulnerability.iter(VULN + "Remediation"):
            if remediation.get("Type") != "Vendor Fix":
                continue
            description = (remediation.findtext(VULN + "Description") or "").strip()
            if description.startswith("KB"):
                description = description[2:]
            if len(description) >= 4 and description.isdigit():
                kb_remediations += 1
print(json.dumps({"documents": documents, "vulnerabilities": vulnerabilities, "kb_remediations": kb_remediations}))
