#!/usr/bin/env bash
# Figures for docs/benchmarks.md ("Simulator"): per-node load and detection times against
# cluster size, and Lifeguard on vs off with paused nodes under 5% loss. Every figure is one
# apiary-sim run (or a few seeds of it) whose JSON report is summarised here.
#
#   bench/sim_figures.sh [path/to/apiary-sim]        N = 10, 100, 1000
#   SIZES="10 100 1000 10000" bench/sim_figures.sh   adds 10,000 (tens of minutes, GBs)
#   SEEDS="1 2 3" bench/sim_figures.sh               seeds for the Lifeguard comparison (1-5)
#   ONLY=lifeguard bench/sim_figures.sh              only the Lifeguard tables
set -euo pipefail
sim="${1:-build/release/sim/src/apiary-sim}"
sizes="${SIZES:-10 100 1000}"
seeds="${SEEDS:-1 2 3 4 5}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

summ() {  # file -> one table row
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda d, k: "-" if d["count"] == 0 else "%.2f" % d[k]
print("| %d | %.2f | %.0f | %s | %s | %s | %s | %s | %d | %.1f |" % (
    r["nodes"], r["msgs_per_node_per_s"], r["bytes_per_node_per_s"],
    f(r["first_detection_s"], "mean"), f(r["first_detection_s"], "p50"),
    f(r["first_dead_s"], "p50"), f(r["detection_s"], "p50"), f(r["dissemination_s"], "p50"),
    r["false_positives"], r["wall_s"]))
PY
}

if [ "${ONLY:-}" != lifeguard ]; then
echo "## Load and detection vs N (1 s probe interval, no loss, 1..5 ms links)"
echo
echo "| N | msgs/node/s | bytes/node/s | first detection mean (s) | first detection p50 | first dead p50 | dead everywhere p50 | dissemination p50 | false pos. | wall (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  crashes=$(( n < 50 ? n / 5 : 20 ))
  duration=400
  [ "$n" -ge 10000 ] && { crashes=5; duration=120; }
  "$sim" --nodes "$n" --duration "$duration" --seed 1 --crash "$crashes" --quiet --no-check \
    --json "$out/n$n.json"
  summ "$out/n$n.json"
done
echo
fi
lifeguard_table() {  # title, extra apiary-sim flags
  echo "## Lifeguard on vs off: $1 (seeds: $seeds)"
  echo
  echo "| lifeguard | seed | false positives | false dead views | first detection p50 (s) | first dead p50 (s) | dead everywhere p50 (s) | crashes detected | converged |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for lg in on off; do
    flag=""; [ "$lg" = off ] && flag="--no-lifeguard"
    for s in $seeds; do
      # shellcheck disable=SC2086
      "$sim" --nodes 100 --seed "$s" --loss 0.05 --crash 5 $2 $flag --quiet --no-check \
        --json "$out/lg.json"
      python3 - "$out/lg.json" "$lg" "$s" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = lambda d: "-" if d["count"] == 0 else "%.2f" % d["p50"]
print("| %s | %s | %d | %d | %s | %s | %s | %d/%d | %s |" % (sys.argv[2], sys.argv[3],
      r["false_positives"], r["false_dead_views"], p(r["first_detection_s"]), p(r["first_dead_s"]),
      p(r["detection_s"]), r["crashes_detected"], r["crashes"], "yes" if r["converged"] else "no"))
PY
    done
  done
  echo
}

lifeguard_table "100 nodes, 5% loss, 40 pauses of 2 s in 600 s" \
  "--duration 600 --pause 40 --pause-ms 2000"
lifeguard_table "100 nodes, 5% loss, 300 pauses of 6 s in 300 s (timers first on resume)" \
  "--duration 300 --pause 300 --pause-ms 6000"
lifeguard_table "100 nodes, 5% loss, 300 pauses of 6 s in 300 s (messages first on resume)" \
  "--duration 300 --pause 300 --pause-ms 6000 --resume-messages-first"
