#!/usr/bin/env bash
# Agent and client as two processes over a /dev/shm region, each killed
# (SIGKILL, mid-write) and restarted many times: every frame the client
# accepts must equal the test pattern pixel-exact, and frames keep flowing.
# At least ROUNDS agent restarts, and more until MIN_FRAMES frames were
# verified in all (a sanitizer build runs several times slower: the test
# counts the work, not the time), within a 100 s bound.
# usage: agent_client_restart.sh AGENT CLIENT [ROUNDS [MIN_FRAMES]]
set -euo pipefail
agent=$1 client=$2 rounds=${3:-8} min_frames=${4:-1000}
work=$(mktemp -d)
shm=/dev/shm/porthole-test-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work" "$shm"
}
trap cleanup EXIT

start_agent() {  # full speed, alternating resolutions
  "$agent" --shm "$shm" --shm-size 16 --fps-limit 0 --width 640 --height 360 \
    --resize-to 320x200 --resize-every 500 --log-level warn >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
}
start_client() {
  "$client" --shm "$shm" --headless --stats --verify-pattern --log-level warn \
    >"$work/client.$1.json" 2>>"$work/client.log" &
  client_pid=$!
  pids+=("$client_pid")
}
# Frames a client instance has accepted so far (its last stats line).
frames_of() {
  local n
  n=$(tail -n1 "$work/client.$1.json" 2>/dev/null | sed -n 's/.*"frames":\([0-9]*\).*/\1/p')
  echo "${n:-0}"
}

start_agent
sleep 0.3
instance=0
start_client $instance
total=0
round=0
deadline=$((SECONDS + 100))
while (( round < rounds )) || (( total + $(frames_of $instance) < min_frames && SECONDS < deadline )); do
  round=$((round + 1))
  sleep 0.$((RANDOM % 7 + 3))
  kill -9 "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
  start_agent
  sleep 1.2
  if (( round % 3 == 0 )); then
    # Stop the client cleanly (its exit code reports mismatches) and start a new one.
    kill -INT "$client_pid"
    if ! wait "$client_pid"; then
      echo "FAIL: client instance $instance exited with an error"; cat "$work/client.log"; exit 1
    fi
    n=$(frames_of $instance); total=$((total + ${n:-0}))
    instance=$((instance + 1))
    start_client $instance
  elif (( round % 3 == 1 )); then
    # Kill the client mid-copy: the agent must not notice beyond the detach.
    kill -9 "$client_pid"; wait "$client_pid" 2>/dev/null || true
    n=$(frames_of $instance); total=$((total + ${n:-0}))
    if grep -q '"mismatched":[1-9]' "$work/client.$instance.json"; then
      echo "FAIL: client instance $instance saw mismatching frames"; exit 1
    fi
    instance=$((instance + 1))
    start_client $instance
  fi
done
sleep 1.5
kill -INT "$client_pid"
if ! wait "$client_pid"; then
  echo "FAIL: last client exited with an error"; cat "$work/client.log"; exit 1
fi
n=$(frames_of $instance); total=$((total + ${n:-0}))
if ! kill -0 "$agent_pid" 2>/dev/null; then echo "FAIL: agent died"; cat "$work/agent.log"; exit 1; fi
if grep -q '"mismatched":[1-9]' "$work"/client.*.json; then
  echo "FAIL: mismatching frames"; grep -h mismatched "$work"/client.*.json | tail -3; exit 1
fi
if grep -qi 'error' "$work/agent.log"; then echo "FAIL: agent logged errors"; cat "$work/agent.log"; exit 1; fi
last=$(frames_of $instance)
echo "accepted $total verified frames over $round agent restarts and $instance client restarts"
# Frames keep flowing through every restart: the last client, started after
# the last agent restart, must have taken frames too.
if (( total < min_frames )); then echo "FAIL: too few frames ($total < $min_frames in 100 s)"; exit 1; fi
if (( ${last:-0} < 20 )); then echo "FAIL: the last client took only ${last:-0} frames"; exit 1; fi
echo "PASS"
