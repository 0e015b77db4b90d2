#!/usr/bin/env bash
# The agent restarted inside the guest: guest/init runs it three times (45
# frames each). The headless client, started before the VM, must follow all
# three sessions and see every frame pixel-exact.
# usage: test_restart.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

truncate -s 32M "$VM_REGION"
# 100 frames can only be reached in the third session (45 + 45 + 10).
"$client" --shm "$VM_REGION" --headless --stats --verify-pattern --exit-after-frames 100 \
  --timeout 100 --log-level info >"$VM_WORK/client.json" 2>"$VM_WORK/client.log" &
client_pid=$!
VM_EXTRA_PIDS=$client_pid
vm_start restart 32
vm_wait_console PORTHOLE-GUEST-UP 60 || vm_fail "guest did not boot ($VM_ACCEL)"
if ! wait "$client_pid"; then
  cat "$VM_WORK/client.log"; vm_fail "client failed"
fi
tail -n1 "$VM_WORK/client.json"
grep -q '"mismatched":0' "$VM_WORK/client.json" || vm_fail "frames differ from the pattern"
sessions=$(grep -o 'agent connected: .*(session [0-9a-f]*)' "$VM_WORK/client.log" | sort -u | wc -l)
[ "$sessions" -ge 3 ] || { cat "$VM_WORK/client.log"; vm_fail "client saw $sessions agent sessions, want 3"; }
echo "PASS: $sessions agent sessions followed, 100 frames verified pixel-exact ($VM_ACCEL)"
