#!/usr/bin/env bash
# `make test` with busy processes beside it, as CI may run on a loaded machine:
#
#     bash bench/loaded_test.sh [BUSY=2]
#
# Starts BUSY busy-loop processes (each wants a whole core), runs `make test` with the 15
# slowest tests reported, stops the load and prints the wall-clock time and exit status.
set -uo pipefail
cd "$(dirname "$0")/.."
busy=()
for _ in $(seq "${1:-2}"); do
    python3 -c "while True: pass" &
    busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
start=$(date +%s)
PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} --durations=15" make test
status=$?
echo "make test beside ${#busy[@]} busy process(es): exit $status, $(($(date +%s) - start)) s"
exit $status
