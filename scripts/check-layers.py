#!/usr/bin/python3
"""Fails when a module of agent/ includes a header of a module in its own layer or above.

The layers are the table between the layers:start/end markers of docs/architecture.md, so the
documentation and the check cannot drift apart. Usage: check-layers.py [SOURCE_ROOT]
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'\s*#\s*include\s+"([a-z_]+)/')


def read_layers(doc):
    table = doc.split("<!-- layers:start -->")[1].split("<!-- layers:end -->")[0]
    layers = {}
    for line in table.splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if row:
            for module in re.findall(r"`([a-z_]+)/`", row.group(2)):
                layers[module] = int(row.group(1))
    return layers


def check(root, layers):
    errors = []
    for folder in sorted(p for p in (root / "agent").iterdir() if p.is_dir()):
        module = folder.name
        if module not in layers:
            errors.append(f"agent/{module}/ is in no layer of docs/architecture.md; add it there")
            continue
        for source in sorted(folder.rglob("*")):
            if source.suffix not in (".h", ".cpp"):
                continue
            for number, line in enumerate(source.read_text().splitlines(), 1):
                match = INCLUDE.match(line)
                if not match or match.group(1) == module:
                    continue
                used = match.group(1)
                where = f"{source.relative_to(root)}:{number}"
                if used not in layers:
                    errors.append(f"{where}: includes {used}/, which is in no layer")
                elif layers[used] >= layers[module]:
                    errors.append(f"{where}: {module}/ (layer {layers[module]}) includes "
                                  f"{used}/ (layer {layers[used]}); only lower layers may be "
                                  "included")
    return errors


def main():
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parents[1]
    layers = read_layers((root / "docs" / "architecture.md").read_text())
    errors = check(root, layers)
    for error in errors:
        print(error)
    if errors:
        print(f"check-layers: {len(errors)} include(s) against the layers of docs/architecture.md")
        return 1
    print(f"check-layers: {len(layers)} modules, every include goes down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
