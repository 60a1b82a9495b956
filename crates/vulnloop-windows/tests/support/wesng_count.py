"""Count the data rows of a wesng CVE table with Python's csv module.

Usage: wesng_count.py CVEs_YYYYMMDD.csv. Prints {"rows": N} as JSON.
"""
import csv
import json
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as table:
    reader = csv.reader(table)
    next(reader)
    rows = sum(1 for _ in reader)
print(json.dumps({"rows": rows}))
