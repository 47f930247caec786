#!/usr/bin/env python3
"""Writes one NetworkPolicy whose ipBlock has many `except` entries, as
large as the API server's object size limit allows (about 1.5 MiB):
the worst case of ipBlock expansion (review finding A).  With --cluster,
the policy comes after deploy/examples/cluster.yaml's objects, so that it
selects pods and is compiled.

  bench/gen-except.py --family 4 --size 1.5 > except-v4.yaml      # ~55k /32
  bench/gen-except.py --family 6 --size 1.5 > except-v6.yaml      # ~28k /128
  bench/gen-except.py --count 4000 > except-4000.yaml
  /usr/bin/time -v ovs-netpol compile deploy/examples/cluster.yaml except-v4.yaml

Deterministic: same arguments, same bytes.
"""

import argparse
import ipaddress
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", type=int, choices=(4, 6), default=4)
    ap.add_argument("--count", type=int, help="number of excepts")
    ap.add_argument("--size", type=float, default=1.5,
                    help="without --count: MiB of YAML to fill (default 1.5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default="many-except")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bits = 32 if args.family == 4 else 128
    head = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            "metadata: {name: %s, namespace: default}\nspec:\n"
            "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n"
            "        cidr: %s\n        except:\n"
            % (args.name, "0.0.0.0/0" if args.family == 4 else "::/0"))
    out = [head]
    size = len(head)
    limit = int(args.size * 1024 * 1024)
    seen = set()
    while True:
        if args.count is not None and len(seen) >= args.count:
            break
        a = rng.getrandbits(bits)
        if a in seen:
            continue
        addr = (ipaddress.IPv4Address(a) if args.family == 4
                else ipaddress.IPv6Address(a))
        line = "        - %s/%d\n" % (addr.exploded if args.family == 6
                                      else addr, bits)
        if args.count is None and size + len(line) > limit:
            break
        seen.add(a)
        out.append(line)
        size += len(line)
    sys.stdout.write("".join(out))
    print("%d excepts, %d bytes" % (len(seen), size), file=sys.stderr)


if __name__ == "__main__":
    main()
