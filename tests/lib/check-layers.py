#!/usr/bin/python3
"""check-layers: lib/ is five sub-libraries, each a folder, in layers:

    core < dicom < spool < pipeline < httpd

A file may include the headers of its own folder and of the folders listed
before it, never of one listed after it (lib/README.md says what each
holds): a lib/dicom file may include dicom and core headers. Every include
of a project header counts, whatever its form ("x.h", <x.h>, "../httpd/x.h"). Modules (a .c or
.cc file with its .h; an internal header NAME_int.h belongs to NAME) must not
include each other in a cycle, inside a folder too. Prints each breach and
the number of cycles; exits 1 when there is any.
Usage: check-layers.py [LIBDIR]   (default: the lib/ of this checkout)"""
import os
import re
import sys

LAYERS = ["core", "dicom", "spool", "pipeline", "httpd"]
INCLUDE = re.compile(r'\s*#\s*include\s*[<"]([^">]+)\.h[">]')


def module(stem):
    return stem[:-4] if stem.endswith("_int") else stem


def main():
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lib = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "lib")
    where = {}  # header stem -> layer
    files = []
    for layer in LAYERS:
        d = os.path.join(lib, layer)
        if not os.path.isdir(d):
            print(f"check-layers: {d} is missing", file=sys.stderr)
            return 1
        for name in sorted(os.listdir(d)):
            stem, ext = os.path.splitext(name)
            if ext in (".c", ".cc", ".h"):
                files.append((layer, stem, os.path.join(d, name)))
                if ext == ".h":
                    where[stem] = layer
    stray = [n for n in os.listdir(lib) if os.path.splitext(n)[1] in (".c", ".cc", ".h")]
    bad = 0
    for n in sorted(stray):
        print(f"lib/{n}: not in a layer folder ({', '.join(LAYERS)})")
        bad += 1
    edges = {}
    for layer, stem, path in files:
        with open(path, errors="replace") as f:
            for no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m or os.path.basename(m.group(1)) not in where:
                    continue
                dep = os.path.basename(m.group(1))
                if LAYERS.index(where[dep]) > LAYERS.index(layer):
                    print(f"{os.path.relpath(path, os.path.dirname(lib))}:{no}: {layer} includes {dep}.h of {where[dep]}, "
                          f"a later layer: move the code that needs it up to {where[dep]}, or what it needs down "
                          f"to {layer}")
                    bad += 1
                a, b = module(stem), module(dep)
                if a != b:
                    edges.setdefault(a, set()).add(b)
    cycles = strongly_connected(edges)
    for c in cycles:
        print("include cycle: " + " <-> ".join(sorted(c)))
    print(f"check-layers: {len(files)} files, {bad} layer breaches, {len(cycles)} include cycles")
    return 1 if bad or cycles else 0


def strongly_connected(edges):
    """Tarjan's algorithm, iterative; returns the components of 2+ modules."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]
    for root in list(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = n[0]
        n[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = n[0]
                    n[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


if __name__ == "__main__":
    sys.exit(main())
