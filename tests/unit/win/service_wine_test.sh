#!/bin/sh
# porthole-agent install/uninstall against Wine's real service manager: the
# service starts the agent in the console session with its token, restarts it
# when it exits (here: no IVSHMEM device, exit code 1), logs next to the
# executable, and uninstall stops and removes it.
# Usage: service_wine_test.sh WINE_RUN AGENT_EXE
set -u
wine_run=$1
agent=$2
dir=$(dirname "$agent")
svc_log="$dir/porthole-agent-service.log"
agent_log="$dir/porthole-agent.log"
rm -f "$svc_log" "$agent_log"
trap '"$wine_run" "$agent" uninstall >/dev/null 2>&1' EXIT

fail() {
  echo "FAIL: $*"
  echo "--- service log"; cat "$svc_log" 2>/dev/null
  echo "--- agent log"; cat "$agent_log" 2>/dev/null
  exit 1
}

"$wine_run" "$agent" install --capture gdi || fail "install"
# Two launches means the first exit was seen and the agent restarted.
for _ in $(seq 300); do
  [ "$(grep -c 'agent started in session' "$svc_log" 2>/dev/null)" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c 'agent started in session' "$svc_log" 2>/dev/null)" -ge 2 ] || fail "the service did not (re)start the agent"
grep -q 'agent exited with code 1 after [0-9]* s; restarting in 1000 ms' "$svc_log" || fail "no restart after the agent exited"
grep -q -- '--stop-event' "$agent_log" && fail "the agent rejected --stop-event"
grep -q 'no IVSHMEM device found' "$agent_log" || fail "the agent's output did not reach porthole-agent.log"

"$wine_run" "$agent" uninstall || fail "uninstall"
trap - EXIT
for _ in $(seq 50); do grep -q 'service stopped' "$svc_log" && break; sleep 0.1; done
grep -q 'service stopped' "$svc_log" || fail "the service did not report stopping"
"$wine_run" "$agent" uninstall >/dev/null 2>&1 && fail "a second uninstall succeeded"

# Options the agent cannot run with (exit code 78): one launch, then the
# service says why and does not restart it.
rm -f "$svc_log" "$agent_log"
trap '"$wine_run" "$agent" uninstall >/dev/null 2>&1' EXIT
"$wine_run" "$agent" install --format nonsense || fail "install with a bad format"
for _ in $(seq 100); do grep -q 'configuration error' "$svc_log" 2>/dev/null && break; sleep 0.1; done
grep -q 'configuration error (exit code 78): not restarting' "$svc_log" || fail "no stop on the configuration error"
sleep 2
[ "$(grep -c 'agent started in session' "$svc_log")" -eq 1 ] || fail "the agent was restarted after a configuration error"
"$wine_run" "$agent" uninstall || fail "uninstall after the configuration error"
trap - EXIT
echo "PASS"
