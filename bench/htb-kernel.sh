#!/bin/bash
# Where a reload's kernel time goes: `tc -b` adding HTB classes on IFB devices in throwaway
# namespaces, timed by GNU time (system time = the kernel serving tc). Root only.
#
#   bench/htb-kernel.sh DEVICES CLASSES [HELD_DEVICES HELD_CLASSES]
#
# With HELD_*, another namespace first holds that many classes, to show whether the cost follows
# the classes of the namespace or of the whole kernel.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)"; exit 2; }
namespaces=()
cleanup() { for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done; }
trap cleanup EXIT

load() { # namespace devices classes
  local ns=$1 devices=$2 classes=$3 batch
  ip netns add "$ns"
  namespaces+=("$ns")
  batch=$(mktemp)
  for i in $(seq 1 "$devices"); do
    ip -n "$ns" link add "hk$i" type ifb
    ip -n "$ns" link set "hk$i" up
    echo "qdisc add dev hk$i root handle 1: htb default fffe"
    echo "class add dev hk$i parent 1: classid 1:1 htb rate 10gbit"
    for c in $(seq 100 $((99 + classes))); do printf 'class add dev hk%d parent 1:1 classid 1:%x htb rate 1mbit ceil 1mbit\n' "$i" "$c"; done
  done >"$batch"
  /usr/bin/time -f "$devices devices x $classes classes: %e s, %S s of it in the kernel" ip netns exec "$ns" tc -b "$batch" 2>&1 | grep -v '^Warning'
  rm -f "$batch"
}

if [ $# -ge 4 ]; then
  printf 'held elsewhere: '
  load "htbheld$$" "$3" "$4"
fi
load "htbtest$$" "$1" "$2"
