#!/usr/bin/env python3
"""Validate scenario files against the schema `allclear schema` prints.

    schema_check.py SCHEMA valid FILE...     every FILE must validate
    schema_check.py SCHEMA invalid FILE...   every FILE must be refused
    schema_check.py SCHEMA readme README.md  the README's JSON examples:
        whole scenarios as they are, single checks inside {"checks": [...]}
    schema_check.py SCHEMA tree DIR...       every *.json under each DIR that
        is a scenario (an object with "journeys", "checks" or "$schema")
        must validate; a DIR that does not exist is skipped

The scenario schema is schema/scenario.schema.json (regenerate it with
`allclear schema > schema/scenario.schema.json`; tests/test_editors.c fails
when the two differ); the report schema, schema/report.schema.json, is
written by hand from report/json.c.

Prints one line per file and exits 1 when an expectation is not met.
"""
import glob
import json
import os
import re
import sys

import jsonschema


def readme_examples(path):
    text = open(path, encoding="utf-8").read()
    out = []
    for n, block in enumerate(re.findall(r"```json\n(.*?)```", text, re.S)):
        try:
            doc = json.loads(block)
        except ValueError:
            continue  # a fragment with comments, for reading only
        if isinstance(doc, dict) and "kind" in doc:
            doc = {"checks": [doc]}
        out.append((f"{path} example {n + 1}", doc))
    return out


def tree_scenarios(dirs):
    out = []
    for d in dirs:
        for f in sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True)):
            doc = json.load(open(f, encoding="utf-8"))
            if isinstance(doc, dict) and ({"journeys", "checks", "$schema"} & doc.keys()):
                out.append((f, doc))
    return out


def main():
    schema = json.load(open(sys.argv[1], encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    mode = sys.argv[2]
    if mode == "readme":
        docs = readme_examples(sys.argv[3])
        mode = "valid"
        if not docs:
            print("no JSON examples found")
            return 1
    elif mode == "tree":
        docs = tree_scenarios(sys.argv[3:])
        mode = "valid"
        print(f"{len(docs)} scenario files")
    else:
        docs = [(f, json.load(open(f, encoding="utf-8"))) for f in sys.argv[3:]]
    bad = 0
    for name, doc in docs:
        errors = list(v.iter_errors(doc))
        if mode == "valid" and errors:
            bad += 1
            for e in errors[:5]:
                print(f"{name}: refused at {list(e.absolute_path)}: {e.message[:200]}")
        elif mode == "invalid" and not errors:
            bad += 1
            print(f"{name}: accepted, should be refused")
        else:
            print(f"{name}: {'valid' if not errors else 'refused'} as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
