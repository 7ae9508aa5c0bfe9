#!/usr/bin/python3
"""Prints the chart's values as a Markdown table (key, default, description) from values.yaml
and its comments, so the README's table is never out of date. A comment that starts with a
key's path documents that key; a documented key whose children are undocumented is one row.

Usage: scripts/values-table.py            print the table
       scripts/values-table.py --write    replace the table in README.md between its markers
       scripts/values-table.py --check    fail when README.md's table differs
"""
import json
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUES = os.path.join(REPO, "charts", "redis-cluster-agent", "values.yaml")
README = os.path.join(REPO, "README.md")
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(\s.*)?$")


def documented_keys(lines):
    """[(path, comment)] for every key line, in file order."""
    out, comment, stack = [], [], []
    for line in lines:
        text = line.strip()
        if not text:
            comment = []
            continue
        if text.startswith("#"):
            comment.append(text.lstrip("#").strip())
            continue
        m = KEY.match(line)
        if not m:  # list items and the like
            comment = []
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        out.append((".".join(stack), " ".join(comment)))
        comment = []
    return out


def describe(path, comment):
    """The comment, starting with the key's own name rather than its whole path."""
    if comment.startswith(path):
        comment = path.split(".")[-1] + comment[len(path):]
    return comment.replace("<", "&lt;").replace("|", "\\|")


def lookup(values, path):
    for part in path.split("."):
        values = values[part]
    return values


def has_documented_child(path, docs):
    return any(p.startswith(path + ".") and c for p, c in docs.items())


def rows():
    with open(VALUES) as f:
        text = f.read()
    values = yaml.safe_load(text)
    keys = documented_keys(text.splitlines())
    docs = dict(keys)
    out = []
    for path, comment in keys:
        if not comment or has_documented_child(path, docs):
            continue  # undocumented, or documented through its children's rows
        default = json.dumps(lookup(values, path), separators=(", ", ": "), ensure_ascii=False)
        out.append(f"| `{path}` | `{default}` | {describe(path, comment)} |")
    return out


def table():
    return "\n".join(["| key | default | description |", "| --- | --- | --- |"] + rows()) + "\n"


def main(argv):
    if not argv:
        sys.stdout.write(table())
        return 0
    with open(README) as f:
        readme = f.read()
    if START not in readme or END not in readme:
        print(f"README.md has no {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}{END}{tail}"
    if argv[0] == "--check":
        if new != readme:
            print("README.md's values table is out of date: run scripts/values-table.py --write",
                  file=sys.stderr)
            return 1
        return 0
    with open(README, "w") as f:
        f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
