#!/usr/bin/env bash
# Clipboard text through a real guest: the static agent inside the VM keeps
# the clipboard in a file (the busybox guest has no X server); on the host,
# porthole runs on an Xvfb and xclip copies and pastes there. The host's text
# shows on the guest's console, the guest's own text reaches xclip on the host.
# usage: test_clipboard.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

vm_start clipboard 32
vm_wait_console 'clipboard: file' 120 || vm_fail "the guest's agent did not start ($VM_ACCEL)"
Xvfb -displayfd 5 -nolisten tcp -screen 0 320x240x24 5>"$VM_WORK/display" </dev/null >/dev/null 2>&1 &
VM_EXTRA_PIDS="$!"
for _ in $(seq 100); do [ -s "$VM_WORK/display" ] && break; sleep 0.1; done
[ -s "$VM_WORK/display" ] || vm_fail "Xvfb did not start"
export DISPLAY=":$(cat "$VM_WORK/display")"
"$client" --shm "$VM_REGION" --size 320x240 --input none --audio off --clipboard both \
  >"$VM_WORK/client.log" 2>&1 &
VM_EXTRA_PIDS="$VM_EXTRA_PIDS $!"
vm_wait_console 'host client .* attached' 60 || { cat "$VM_WORK/client.log"; vm_fail "the client never attached"; }

printf 'from the host' >"$VM_WORK/host.txt"
xclip -quiet -selection clipboard -i "$VM_WORK/host.txt" >/dev/null 2>&1 &
VM_EXTRA_PIDS="$VM_EXTRA_PIDS $!"
vm_wait_console 'PORTHOLE-CLIPBOARD \[from the host\]' 60 ||
  { cat "$VM_WORK/client.log"; vm_fail "the host's text never reached the guest's clipboard file"; }

got=""
for _ in $(seq 120); do
  got=$(timeout 10 xclip -selection clipboard -o 2>/dev/null || true)
  [ "$got" = "from the guest" ] && break
  sleep 0.5
done
[ "$got" = "from the guest" ] ||
  { cat "$VM_WORK/client.log"; vm_fail "the guest's text never reached the host (last: '$got')"; }
echo "PASS: clipboard text host -> guest file -> host ($VM_ACCEL)"
