# Shared by the VM tests: start and stop a QEMU guest with an ivshmem-plain
# device over a host region file, with a QMP socket and the serial console
# captured. Source it; call vm_setup first.
# shellcheck shell=bash

vm_setup() {  # GUESTDIR WORKDIR
  VM_GUEST=$1 VM_WORK=$2
  mkdir -p "$VM_WORK"
  VM_REGION=/dev/shm/porthole-vm-$$-$RANDOM
  VM_QMP=$VM_WORK/qmp.sock
  VM_CONSOLE=$VM_WORK/console.log
  VM_PID=""
  VM_ACCEL=$(vm_accel)
  trap vm_cleanup EXIT
  trap 'exit 143' TERM INT HUP  # so that the EXIT trap runs when ctest stops the test
}

vm_cleanup() {
  local rc=$?
  vm_stop
  for p in ${VM_EXTRA_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
  rm -f "$VM_REGION"
  # The logs stay for a failed test (its output names them).
  if [ "$rc" -eq 0 ]; then rm -rf "$VM_WORK"; else echo "logs: $VM_WORK"; fi
}

# KVM when it really works (a guest boots to /init quickly), else TCG. The
# answer is cached for the build tree: /dev/kvm can exist yet fail or hang.
vm_accel() {
  local cache=$VM_GUEST/accel
  if [ -f "$cache" ]; then cat "$cache"; return; fi
  local accel=tcg
  if [ -w /dev/kvm ]; then
    local log=$VM_WORK/kvm-probe.log
    timeout 15 qemu-system-x86_64 -accel kvm -machine q35 -cpu host -m 256 -nographic -nodefaults \
      -serial "file:$log" -no-reboot -kernel "$VM_GUEST/vmlinuz" -initrd "$VM_GUEST/initrd.gz" \
      -append "console=ttyS0 quiet no_timer_check porthole_test=probe" >/dev/null 2>&1 || true
    grep -q PORTHOLE-GUEST-DONE "$log" 2>/dev/null && accel=kvm
  fi
  echo "$accel" >"$cache"
  echo "$accel"
}

vm_start() {  # SCENARIO [REGION_MIB] [extra qemu args...]
  local scenario=$1 mib=${2:-32}; shift 2 || shift $#
  local cpu=max reboot=-no-reboot
  [ "$VM_ACCEL" = kvm ] && cpu=host
  [ "$scenario" = reboot ] && reboot=""
  # ivshmem-doorbell: the region and the interrupts come from the ivshmem
  # server (porthole-ivshmem-server) at VM_DOORBELL_SOCKET, already running.
  local region_args=(-object "memory-backend-file,id=ivm,share=on,mem-path=$VM_REGION,size=${mib}M"
    -device ivshmem-plain,memdev=ivm)
  if [ -n "${VM_DOORBELL_SOCKET:-}" ]; then
    region_args=(-chardev "socket,path=$VM_DOORBELL_SOCKET,id=ivsh"
      -device ivshmem-doorbell,chardev=ivsh,vectors=1)
  fi
  # QEMU creates the region file (and sizes it) if it is not there yet.
  : >"$VM_CONSOLE"
  # no_timer_check: under TCG on a busy host the kernel's IO-APIC timer check
  # can miss its ticks and panic at boot ("IO-APIC + timer doesn't work!", seen
  # in a clean run of the libvirt boot test); the emulated timer is sound.
  # Bounded even if this script is killed outright (ctest's timeout): QEMU
  # never outlives VM_MAX_SECONDS. timeout passes vm_stop's TERM on to QEMU.
  timeout -k 5 "${VM_MAX_SECONDS:-240}" qemu-system-x86_64 -accel "$VM_ACCEL" -machine q35 -cpu "$cpu" -m 256 -smp 1 \
    -nographic -nodefaults -serial "file:$VM_CONSOLE" $reboot \
    -kernel "$VM_GUEST/vmlinuz" -initrd "$VM_GUEST/initrd.gz" \
    -append "console=ttyS0 quiet no_timer_check porthole_test=$scenario" \
    "${region_args[@]}" \
    -qmp "unix:$VM_QMP,server=on,wait=off" "$@" >"$VM_WORK/qemu.log" 2>&1 &
  VM_PID=$!
}

vm_stop() {
  [ -n "${VM_PID:-}" ] || return 0
  kill "$VM_PID" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$VM_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$VM_PID" 2>/dev/null || true
  wait "$VM_PID" 2>/dev/null || true
  VM_PID=""
}

vm_wait_console() {  # PATTERN SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    grep -q "$1" "$VM_CONSOLE" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# The client, started before the VM (so before QEMU creates the region file:
# it waits for it), verifying FRAMES pattern frames; then the VM with SCENARIO. Returns once the client has exited with every frame
# pixel-exact (fails the test otherwise). Logs: $VM_WORK/client.{json,log}.
vm_run_verifying_client() {  # CLIENT SCENARIO FRAMES TIMEOUT_S
  local client=$1 scenario=$2 frames=$3 timeout_s=$4 client_pid
  [ -n "${VM_DOORBELL_SOCKET:-}" ] || rm -f "$VM_REGION"
  "$client" --shm "$VM_REGION" ${VM_CLIENT_ARGS:-} --headless --stats --verify-pattern --exit-after-frames "$frames" \
    --timeout "$timeout_s" --log-level info >"$VM_WORK/client.json" 2>"$VM_WORK/client.log" &
  client_pid=$!
  VM_EXTRA_PIDS="${VM_EXTRA_PIDS:-} $client_pid"
  local i
  local ready="waiting for $VM_REGION"
  [ -n "${VM_DOORBELL_SOCKET:-}" ] && ready="doorbell: peer"  # the server made the region
  for ((i = 0; i < 150; i++)); do
    grep -q "$ready" "$VM_WORK/client.log" && break
    kill -0 "$client_pid" 2>/dev/null || { cat "$VM_WORK/client.log"; vm_fail "the client exited"; }
    sleep 0.1
  done
  grep -q "$ready" "$VM_WORK/client.log" ||
    { cat "$VM_WORK/client.log"; vm_fail "the client did not wait for the region ($ready)"; }
  vm_start "$scenario" 32
  vm_wait_console PORTHOLE-GUEST-UP 120 || vm_fail "guest did not boot ($VM_ACCEL)"
  if ! wait "$client_pid"; then
    cat "$VM_WORK/client.log"; vm_fail "client failed"
  fi
  tail -n1 "$VM_WORK/client.json"
  grep -q '"mismatched":0' "$VM_WORK/client.json" || vm_fail "frames differ from the pattern"
}

# Distinct agent sessions the client connected to.
vm_client_sessions() {
  grep -o 'agent connected: .*(session [0-9a-f]*)' "$VM_WORK/client.log" | sort -u | wc -l
}

# Runs an input sender (its "SENT type code value" lines) and waits until the
# guest's probe has printed as many PROBE-EV lines on CONSOLE, then half a
# second more so that anything extra shows too. Leaves $VM_WORK/want.txt and
# got.txt ("type code value" each) to compare; prints an error and returns 1
# when the sender fails or reports fewer than 10 events.
vm_send_and_read_back() {  # CONSOLE SENDER [ARGS...]
  local console=$1 n; shift
  if ! timeout 90 "$@" >"$VM_WORK/sent.txt" 2>"$VM_WORK/sender.log"; then
    cat "$VM_WORK/sender.log"; echo "sending with $1 failed"; return 1
  fi
  awk '/^SENT/{print $2, $3, $4}' "$VM_WORK/sent.txt" >"$VM_WORK/want.txt"
  n=$(wc -l <"$VM_WORK/want.txt")
  [ "$n" -ge 10 ] || { echo "the sender reported only $n events"; return 1; }
  _vm_got() { tr -d '\r' <"$console" | awk '/^PROBE-EV/{print $3, $4, $5}'; }
  for _ in $(seq 100); do [ "$(_vm_got | wc -l)" -ge "$n" ] && break; sleep 0.2; done
  sleep 0.5
  _vm_got >"$VM_WORK/got.txt"
}

vm_fail() {
  echo "FAIL: $*"
  echo "---- guest console (last lines) ----"; tail -n 30 "$VM_CONSOLE" 2>/dev/null
  echo "---- qemu ----"; tail -n 10 "$VM_WORK/qemu.log" 2>/dev/null
  exit 1
}
