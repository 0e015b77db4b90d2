#!/usr/bin/env bash
# The client restarted while the VM runs: a first client exits normally, a
# second one is killed with SIGKILL mid-stream (a crash), a third one must
# attach to the same running agent session and verify its frames pixel-exact.
# usage: test_client_restart.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

vm_start frames 32
vm_wait_console PORTHOLE-GUEST-UP 120 || vm_fail "guest did not boot ($VM_ACCEL)"
run_client() {  # N FRAMES
  "$client" --shm "$VM_REGION" --headless --stats --verify-pattern --exit-after-frames "$2" \
    --timeout 90 --log-level info >"$VM_WORK/client$1.json" 2>"$VM_WORK/client$1.log"
}
run_client 1 30 || { cat "$VM_WORK/client1.log"; vm_fail "first client failed"; }
grep -q '"mismatched":0' "$VM_WORK/client1.json" || vm_fail "first client: frames differ"

"$client" --shm "$VM_REGION" --headless --stats --verify-pattern --timeout 90 \
  >"$VM_WORK/client2.json" 2>"$VM_WORK/client2.log" &
crash_pid=$!
VM_EXTRA_PIDS=$crash_pid
for _ in $(seq 100); do grep -q '"frames":[1-9]' "$VM_WORK/client2.json" 2>/dev/null && break; sleep 0.2; done
grep -q '"frames":[1-9]' "$VM_WORK/client2.json" || vm_fail "second client showed no frame"
kill -9 "$crash_pid"; wait "$crash_pid" 2>/dev/null || true
kill -0 "$crash_pid" 2>/dev/null && vm_fail "the second client survived SIGKILL"

run_client 3 30 || { cat "$VM_WORK/client3.log"; vm_fail "third client (after a crash) failed"; }
tail -n1 "$VM_WORK/client3.json"
grep -q '"mismatched":0' "$VM_WORK/client3.json" || vm_fail "third client: frames differ"
s1=$(grep -o '(session [0-9a-f]*)' "$VM_WORK/client1.log" | head -n1)
s3=$(grep -o '(session [0-9a-f]*)' "$VM_WORK/client3.log" | head -n1)
[ -n "$s1" ] && [ "$s1" = "$s3" ] || vm_fail "clients saw different agent sessions: '$s1' vs '$s3'"
echo "PASS: three clients in turn (one killed) on the same agent $s1 ($VM_ACCEL)"
