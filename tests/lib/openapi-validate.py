#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Validate answers of np-httpd against its OpenAPI document.

usage: openapi-validate.py DOC.json < LIST
LIST has one answer a line: METHOD PATH STATUS BODYFILE (PATH as requested,
query string allowed). For each, the operation is found by matching PATH
against the document's path templates, its response for STATUS (or
"default") gives the schema of application/json, and the body is validated
with python3-jsonschema (Draft 7 after turning OpenAPI 3.0's nullable into a
null type). Prints "ok METHOD PATH STATUS" or "not ok ..." with each error
(where in the body, and the rule); exits 1 when any answer does not conform,
or has no documented operation or response."""
import json
import re
import sys

import jsonschema


def to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema: nullable becomes a null
    type (or, beside a $ref, an anyOf with null); example is dropped."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable") is True:
        if "$ref" in out:
            return {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    return out


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        cur = doc
        for part in node["$ref"][2:].split("/"):
            cur = cur[part]
        node = cur
    return node


def find_op(doc, method, path):
    path = path.split("?", 1)[0]
    for tmpl, ops in doc["paths"].items():
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path) and method.lower() in ops:
            return tmpl, ops[method.lower()]
    return None, None


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        raw = json.load(f)
    # A nullable schema that is the target of a $ref stays nullable through
    # the conversion above, so the whole document is converted once.
    doc = to_json_schema(raw)
    resolver = jsonschema.RefResolver("", doc)
    failed = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        method, path, status, body = line.split()
        name = "%s %s %s" % (method, path, status)
        tmpl, op = find_op(raw, method, path)
        if not op:
            print("not ok %s: no such operation in the document" % name)
            failed += 1
            continue
        resp = op["responses"].get(status) or op["responses"].get("default")
        if not resp:
            print("not ok %s: status %s is not documented for %s %s" % (name, status, method, tmpl))
            failed += 1
            continue
        resp = resolve(raw, resp)
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            print("not ok %s: the response has no application/json schema" % name)
            failed += 1
            continue
        with open(body, encoding="utf-8") as f:
            inst = json.load(f)
        v = jsonschema.Draft7Validator(to_json_schema(schema), resolver=resolver)
        errs = sorted(v.iter_errors(inst), key=lambda e: list(e.absolute_path))
        if errs:
            failed += 1
            print("not ok %s (%s %s)" % (name, method, tmpl))
            for e in errs[:20]:
                where = "/".join(str(p) for p in e.absolute_path) or "(body)"
                print("#   %s: %s" % (where, e.message[:300]))
        else:
            print("ok %s" % name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
