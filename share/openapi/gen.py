#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write np-httpd's OpenAPI document (make: build/share/openapi.json).

Generated from what the code already holds, so that it cannot drift from it:
  - the route table (lib/httpd/np_httpd_routes.c): every operation, its method,
    path and x-role; an operation missing on either side stops the build;
  - the settings JSON Schema (share/schema/config.schema.json): the Settings
    schemas of GET and PUT /api/settings;
  - study_keys[] of the code that writes a study row: the properties of the
    Study and Result schemas, in the order the API sends them;
the 413 and 415 answers of every operation with a JSON body; and from
hand-kept text beside this script: base.json (info, tags, shared
schemas and the shared error answers under components/responses), paths.json
(per operation: summary, description, parameters, answers) and study.json
(the type and meaning of each study column).

usage: gen.py ROUTES.c CONFIG.schema.json OUT.json SOURCE.c...
(the SOURCE files are searched for study_keys[])."""
import copy
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = {"PUB": "public", "USR": "user", "ADM": "admin"}
errors = []


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def routes(path):
    """(METHOD, path with {} for parameters) -> role, from the C table."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    table = {}
    for m, p, role in re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*([A-Z]+),', text):
        if role not in ROLES:
            errors.append("%s: route %s %s has an unknown role %s" % (path, m, p, role))
        table[(m, p)] = ROLES.get(role)
    if not table:
        errors.append("%s: no route found" % path)
    return table


def study_keys(sources):
    found = []
    for s in sources:
        with open(s, encoding="utf-8") as f:
            for body in re.findall(r"study_keys\[\]\s*=\s*\{(.*?)\};", f.read(), re.S):
                found.append((s, [k for k in re.findall(r'"([^"]*)"', body)]))
    if len(found) != 1:
        errors.append("study_keys[] is defined %d times in %s (want once)" % (len(found), " ".join(sources)))
        return []
    return found[0][1]


def settings_schemas(schema):
    """The draft-07 settings schema as OpenAPI 3.0 schema objects: definitions
    become components (SettingsX), examples an example; SettingsPatch is the
    same without "required" (PUT merges a part over the current settings)."""
    defs = schema.pop("definitions", {})
    name = {k: "Settings" + k[:1].upper() + k[1:] for k in defs}

    def conv(node, patch):
        if isinstance(node, list):
            return [conv(x, patch) for x in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for k, v in node.items():
            if k in ("$schema", "$id"):
                continue
            if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/"):
                d = v[len("#/definitions/"):]
                out[k] = "#/components/schemas/" + name[d] + ("Patch" if patch else "")
            elif k == "examples" and isinstance(v, list):
                if v:
                    out["example"] = v[0]
            elif k == "required" and patch and isinstance(v, list):
                continue
            elif k.startswith("x-") or k in ("default", "enum", "example"):
                out[k] = v
            else:
                out[k] = conv(v, patch)
        return out

    out = {}
    for patch in (False, True):
        suffix = "Patch" if patch else ""
        out["Settings" + suffix] = conv(copy.deepcopy(schema), patch)
        for k, v in defs.items():
            out[name[k] + suffix] = conv(copy.deepcopy(v), patch)
    out["Settings"]["description"] = (schema.get("description", "") +
                                      " In answers every secret (writeOnly) is \"********\" when set and \"\" when not.")
    out["SettingsPatch"]["description"] = "Any part of Settings: merged over the current settings, then the whole is validated."
    out["SettingsPatch"]["title"] = "Settings (a part)"
    return out


def study_schemas(keys, spec):
    cols = spec["columns"]
    for k in keys:
        if k not in cols:
            errors.append("study column %s (study_keys[]) has no schema in share/openapi/study.json" % k)
    for k in cols:
        if k not in keys:
            errors.append("share/openapi/study.json describes %s, which study_keys[] does not send" % k)
    out = {}
    for name in ("Study", "Result"):
        s = spec[name]
        props = {k: cols[k] for k in keys if k in cols}
        props.update(s["properties"])
        out[name] = {"type": "object", "description": s["description"], "additionalProperties": False,
                     "required": list(keys) + s["required"], "properties": props}
    return out


def operations(doc_paths, table):
    seen = set()
    out = {}
    for p, ops in doc_paths.items():
        key_p = re.sub(r"\{[^}]+\}", "{}", p)
        out[p] = {}
        for m, op in ops.items():
            k = (m.upper(), key_p)
            if "x-role" in op:
                errors.append("paths.json: %s %s sets x-role; the route table gives it" % k)
            if k not in table:
                errors.append("paths.json documents %s %s, which the route table (np_httpd_routes.c) lacks" % k)
                continue
            seen.add(k)
            role = table[k]
            o = {}
            for f, v in op.items():
                o[f] = v
                if f == "operationId":
                    o["x-role"] = role
            o.setdefault("x-role", role)
            resp = o.setdefault("responses", {})
            if role != "public":
                resp.setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
                resp.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
                sec = {"session": []}
                if m.upper() != "GET":
                    sec["csrf"] = []
                o.setdefault("security", [sec])
            # A JSON body goes through np__body_json, which refuses another
            # Content-Type and an oversized body for every such operation.
            if "application/json" in o.get("requestBody", {}).get("content", {}):
                resp.setdefault("413", {"$ref": "#/components/responses/TooLarge"})
                resp.setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
            o["responses"] = dict(sorted(resp.items()))
            out[p][m] = o
    for k in sorted(set(table) - seen):
        errors.append("route %s %s has no operation in share/openapi/paths.json" % k)
    return out


def check_refs(doc):
    def walk(node, where):
        if isinstance(node, dict):
            r = node.get("$ref")
            if isinstance(r, str):
                cur = doc
                for part in r[2:].split("/"):
                    cur = cur.get(part) if isinstance(cur, dict) else None
                if not r.startswith("#/") or cur is None:
                    errors.append("%s: $ref %s resolves to nothing" % (where, r))
            for k, v in node.items():
                walk(v, where + "/" + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))
    walk(doc, "#")


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    routes_c, config_schema, out_path, sources = argv[1], argv[2], argv[3], argv[4:]
    doc = load(os.path.join(HERE, "base.json"))
    schemas = doc["components"]["schemas"]
    schemas.update(settings_schemas(load(config_schema)))
    schemas.update(study_schemas(study_keys(sources), load(os.path.join(HERE, "study.json"))))
    paths = operations(load(os.path.join(HERE, "paths.json")), routes(routes_c))
    doc = {k: doc[k] for k in ("openapi", "info", "servers", "tags")} | {"paths": paths, "components": doc["components"]}
    check_refs(doc)
    if errors:
        for e in errors:
            print("gen.py: " + e, file=sys.stderr)
        sys.exit(1)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main(sys.argv)
