#!/usr/bin/env python3
"""Prints the Debian mirror this machine's apt is configured with, for a suite
(default: the running release's codename), read from /etc/apt's sources so
that no host name is written in the repository."""
import glob
import sys


def stanzas(path):
    block = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if block:
                    yield block
                block = {}
            elif not line.startswith("#") and ":" in line and not line[0].isspace():
                key, _, value = line.partition(":")
                block[key.strip().lower()] = value.split()
    if block:
        yield block


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else None
    if suite is None:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    suite = line.split("=", 1)[1].strip().strip('"')
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for block in stanzas(path):
            if "deb" in block.get("types", []) and suite in block.get("suites", []):
                print(block["uris"][0])
                return 0
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                print(words[1])
                return 0
    print("debian-mirror: no apt source for suite %r" % suite, file=sys.stderr)
    return 1


sys.exit(main())
