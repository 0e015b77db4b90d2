#!/usr/bin/env bash
# vm define --doorbell through a real libvirtd, with no GPU: the domain's region
# is an ivshmem-doorbell device on porthole-ivshmem-server's socket. Without the
# server the domain does not start (QEMU cannot create the device); with the
# server started first, sized as vm define's note says, it starts, QEMU connects
# as a peer, its command line has the device and the chardev, the device's
# BAR2 is the server's region (the domain has no <size>), and doctor --domain
# passes the region naming the socket.
# usage: test_doorbell.sh STATE_DIR PORTHOLE_VFIO GUESTDIR PORTHOLE_IVSHMEM_SERVER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
lv_setup "$1" doorbell "$3"
vfio=$2 server=$4
sock=$LV_WORK/ivshmem.sock region=/dev/shm/$LV_NAME qmp=$LV_WORK/qmp.sock
LV_REGIONS=$region

args=(vm define "$LV_NAME" --gpu none --memory 256M --vcpus 1 --virt-type "$LV_VIRT"
  --os win10 --no-tpm --no-secure-boot --network none --shm-name "$LV_NAME" --qmp "$qmp"
  --doorbell "$sock")
"$vfio" "${args[@]}" >"$LV_WORK/domain.xml" 2>"$LV_WORK/notes.txt" || lv_fail "vm define (print) failed"
virt-xml-validate "$LV_WORK/domain.xml" domain || lv_fail "libvirt's schema refuses the domain"
# The note's command for the server: the region's size for 1920x1080.
size=$(sed -nE 's/.*`porthole-ivshmem-server --socket [^ ]+ --shm [^ ]+ --size ([0-9]+)`.*/\1/p' \
  "$LV_WORK/notes.txt" | head -1)
[ "$size" = 32 ] || { cat "$LV_WORK/notes.txt"; lv_fail "the note gives the server --size '$size', not 32"; }

"$vfio" "${args[@]}" --apply --connect "$LV_URI" >"$LV_WORK/define.log" 2>&1 ||
  { cat "$LV_WORK/define.log"; lv_fail "vm define --apply failed"; }
LV_DOMAINS=$LV_NAME

# No server: QEMU cannot create the device, so the domain does not start.
if lv_virsh start --paused --domain "$LV_NAME" >"$LV_WORK/start-without.log" 2>&1; then
  lv_fail "the domain started with no server on $sock"
fi
grep -q "Failed to connect to '$sock'" "$LV_WORK/start-without.log" ||
  { cat "$LV_WORK/start-without.log"; lv_fail "no connect error naming $sock"; }

# The server first, as the daemon's user (QEMU's), then the domain.
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid="$LV_USER" --regid=nogroup --clear-groups)
"${as_user[@]}" "$server" --socket "$sock" --shm "$region" --size "$size" >"$LV_WORK/server.log" 2>&1 &
LV_PIDS=$!
lv_wait 10 grep -q serving "$LV_WORK/server.log" || { cat "$LV_WORK/server.log"; lv_fail "the server did not start"; }
lv_virsh start --paused --domain "$LV_NAME" >/dev/null || lv_fail "virsh start failed with the server running"
lv_wait 10 grep -q "peer 0 connected" "$LV_WORK/server.log" ||
  { cat "$LV_WORK/server.log"; lv_fail "QEMU did not connect to the server"; }

lv_qemu_argv "$LV_NAME" >"$LV_WORK/argv.txt"
lv_expect_lines "running QEMU" "$LV_WORK/argv.txt" \
  '"driver":"ivshmem-doorbell","id":"shmem0","chardev":"charshmem0","vectors":1,"ioeventfd":true' \
  "^socket,id=charshmem0,path=$sock$"
! grep -q 'memory-backend-file' "$LV_WORK/argv.txt" || lv_fail "QEMU maps a region file of its own"

# The device's BAR2 (its memory region's size: query-pci cannot see behind libvirt's
# PCIe-to-PCI bridge before the firmware numbers the buses).
lv_virsh qemu-monitor-command --domain "$LV_NAME" \
  '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/shmem0/ivshmem.bar2[0]","property":"size"}}' \
  >"$LV_WORK/bar2.json" || lv_fail "qom-get of the device's BAR2 failed"
bar2=$(jq .return "$LV_WORK/bar2.json")
[ "$bar2" = $((size * 1024 * 1024)) ] ||
  { cat "$LV_WORK/bar2.json"; lv_fail "the device's BAR2 is '$bar2' bytes, the server's region $size MiB"; }
[ "$(stat -c %s "$region")" -eq $((size * 1024 * 1024)) ] || lv_fail "the server's region is not $size MiB"

"$vfio" doctor --no-rom --domain "$LV_NAME" --connect "$LV_URI" >"$LV_WORK/doctor.txt" || true
lv_expect_lines "doctor --domain" "$LV_WORK/doctor.txt" \
  "^\[pass\] domain shmem: <shmem name='$LV_NAME'> is ivshmem-doorbell on $sock: porthole-ivshmem-server"
lv_virsh destroy --domain "$LV_NAME" >/dev/null
echo "PASS: the doorbell domain starts only with porthole-ivshmem-server, whose $size MiB region is the device's BAR2"
