#!/usr/bin/env bash
# The agent restarted inside the guest: guest/init runs it three times (45
# frames, 45 frames, then until stopped). The headless client, started before
# the VM, must follow all three sessions and see every frame pixel-exact.
# usage: test_restart.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

# 100 frames can only be reached in the third session (45 + 45 + 10).
vm_run_verifying_client "$client" restart 100 170
sessions=$(vm_client_sessions)
[ "$sessions" -ge 3 ] || { cat "$VM_WORK/client.log"; vm_fail "client saw $sessions agent sessions, want 3"; }
echo "PASS: $sessions agent sessions followed, 100 frames verified pixel-exact ($VM_ACCEL)"
