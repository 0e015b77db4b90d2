#!/usr/bin/env bash
# Audio from a real guest: the agent's tone source inside the VM writes the
# region's audio ring; on the host, vm-audio-check runs the porthole client
# into a private PipeWire daemon's null sink and compares the recording with
# the tone.
# usage: test_audio.sh GUESTDIR CHECKER CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
checker=$2 client=$3

vm_start audio 32
vm_wait_console 'region:' 90 || vm_fail "the guest's agent did not start ($VM_ACCEL)"
timeout -k 5 60 "$checker" "$VM_REGION" "$client" 8 || vm_fail "audio check failed"
echo "PASS: the guest's tone played through porthole into PipeWire ($VM_ACCEL)"
