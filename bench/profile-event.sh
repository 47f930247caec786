#!/usr/bin/env bash
# profile-event.sh - instructions per engine event, by kind, under callgrind.
#
# Takes the events of the churn description (gen_cluster.py --churn-for) of a
# cluster and runs them through bench/engine-event (built by `make`) under
# `valgrind --tool=callgrind --instr-atstart=no`: per kind, instructions per
# event in each phase (input and invalidation, engine run, the commit's
# difference), flow changes, policies compiled again against the model of
# src/engine.c's invalidation, and the top functions of the median event.
# Instruction counts do not depend on the load: this may run on a busy
# machine.  Prints a table; appends JSON lines to bench/out/profile.jsonl;
# keeps callgrind_annotate listings in bench/out/profile/CLUSTER/.
#
# usage: bench/profile-event.sh [--mix old|broad] [--size 1k|10k|50k]
#            [--cluster FILE] [--events N] [--kinds K,...] [--no-valgrind]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/profile_event.py" "$@"
