"""Import name for gen-cluster.py (a file name with a dash cannot be
imported): the OVN peer (../shared/peers/ovn/k8s_to_ovn.py) does
`import gen_cluster` for ctx_from_items() and make_policy(); run it with
PYTHONPATH=bench.  Also runnable: python3 bench/gen_cluster.py ARGS."""

import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location(
    "_gen_cluster_impl", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-cluster.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})

if __name__ == "__main__":
    sys.exit(_mod.main())
