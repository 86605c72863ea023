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
or has no documented operation or response.

usage: openapi-validate.py DOC.json --log DIR
DIR holds the answers the e2e tests kept (tests/lib/httpd.sh api_keep): one
file each, a line "METHOD STATUS TEST PATH" and the body. An error answer
(4xx, 5xx) to a path or method the document lacks is checked against the
shared Error schema. Prints one line per operation, "ok|not ok METHOD
TEMPLATE: N answers (STATUS...)", each mismatch below its operation as
"#   TEST: METHOD PATH STATUS: where: rule", the operations no answer
reached, and a last line "answers N operations M of K"; exits 1 on any
mismatch."""
import json
import os
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


def check(raw, doc, resolver, method, path, status, inst):
    """The operation template an answer belongs to and its errors (each
    "where: rule"); an empty list when it conforms."""
    tmpl, op = find_op(raw, method, path)
    if not op:
        if not status.isdigit() or int(status) < 400:
            return None, ["(answer): no such operation in the document"]
        schema = {"$ref": "#/components/schemas/Error"}
        tmpl = "(no operation)"
    else:
        resp = op["responses"].get(status) or op["responses"].get("default")
        if not resp:
            return tmpl, ["(answer): status %s is not documented for %s %s" % (status, method, tmpl)]
        schema = resolve(raw, resp).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return tmpl, ["(answer): the response has no application/json schema"]
    v = jsonschema.Draft7Validator(to_json_schema(schema), resolver=resolver)
    errs = sorted(v.iter_errors(inst), key=lambda e: list(e.absolute_path))
    return tmpl, ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(body)", e.message[:300]) for e in errs[:20]]


def check_log(raw, doc, resolver, folder):
    ops = {}  # (method, template) -> [count, statuses, mismatch lines]
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            head = f.readline().rstrip("\n").split(" ", 3)
            text = f.read()
        if len(head) != 4:
            ops.setdefault(("?", "(unreadable)"), [0, set(), []])[2].append("%s: no header line" % name)
            continue
        method, status, test, path = head
        try:
            inst = json.loads(text)
        except ValueError as e:
            tmpl, errs = find_op(raw, method, path)[0] or "(no operation)", ["(body): not JSON: %s" % e]
        else:
            tmpl, errs = check(raw, doc, resolver, method, path, status, inst)
            tmpl = tmpl or "(no operation)"
        o = ops.setdefault((method, tmpl), [0, set(), []])
        o[0] += 1
        o[1].add(status)
        for e in errs:
            o[2].append("%s: %s %s %s: %s" % (test, method, path, status, e))
    failed = 0
    for (method, tmpl), (n, sts, bad) in sorted(ops.items(), key=lambda x: (x[0][1], x[0][0])):
        failed += bool(bad)
        print("%s %s %s: %d answers (%s)" % ("not ok" if bad else "ok", method, tmpl, n, " ".join(sorted(sts))))
        for b in bad[:30]:
            print("#   " + b)
        if len(bad) > 30:
            print("#   ... and %d more" % (len(bad) - 30))
    every = [(m.upper(), t) for t, o in raw["paths"].items() for m in o]
    missed = [m + " " + t for m, t in every if (m, t) not in ops]
    if missed:
        print("# no answer kept for: " + ", ".join(missed))
    print("answers %d operations %d of %d" % (sum(o[0] for o in ops.values()), len(every) - len(missed), len(every)))
    return failed


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        raw = json.load(f)
    # A nullable schema that is the target of a $ref stays nullable through
    # the conversion above, so the whole document is converted once.
    doc = to_json_schema(raw)
    resolver = jsonschema.RefResolver("", doc)
    if len(sys.argv) == 4 and sys.argv[2] == "--log":
        sys.exit(1 if check_log(raw, doc, resolver, sys.argv[3]) else 0)
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
