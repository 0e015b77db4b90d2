# Shared by the libvirt tests: the daemon libvirtd.sh started (the ctest
# fixture), a work folder the QEMU user can use, and cleanup of the test's
# domains, region files and helper processes at exit. Source it; call lv_setup.
# shellcheck shell=bash

lv_setup() {  # STATE_DIR TEST_NAME GUESTDIR
  LV_STATE=$1
  [ -s "$LV_STATE/uri" ] ||
    { echo "FAIL: no libvirtd in $LV_STATE (the fixture test libvirt.daemon_start did not run)"; exit 1; }
  LV_URI=$(cat "$LV_STATE/uri")
  LV_USER=$(cat "$LV_STATE/user")
  LV_ROOT=$(cat "$LV_STATE/root")  # the daemon's home, runtime and work folders
  LV_LOGS=$(cat "$LV_STATE/cachedir")/libvirt/qemu/log
  LV_NAME=porthole-$2-$$
  LV_WORK=$LV_ROOT/work/$LV_NAME
  LV_DOMAINS="" LV_REGIONS="" LV_PIDS=""
  mkdir -p "$LV_WORK"
  [ "$(id -u)" -eq 0 ] && chown "$LV_USER" "$LV_WORK"
  # KVM when it works here (tests/vm's probe, cached) and the daemon's user may
  # open /dev/kvm; TCG otherwise.
  VM_GUEST=$3 VM_WORK=$LV_WORK
  # shellcheck source=../lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
  LV_VIRT=qemu
  [ "$(vm_accel)" = kvm ] && [ "$(cat "$LV_STATE/kvm")" = yes ] && LV_VIRT=kvm
  trap lv_cleanup EXIT
  trap 'exit 143' TERM INT HUP  # so that the EXIT trap runs when ctest stops the test
}

lv_virsh() { timeout 60 virsh -q -c "$LV_URI" "$@"; }

lv_cleanup() {
  local rc=$?
  for p in $LV_PIDS; do kill -9 "$p" 2>/dev/null || true; done
  for d in $LV_DOMAINS; do
    lv_virsh destroy --domain "$d" >/dev/null 2>&1 || true
    lv_virsh undefine --nvram --domain "$d" >/dev/null 2>&1 || true
  done
  for r in $LV_REGIONS; do rm -f "$r"; done
  if [ "$rc" -eq 0 ]; then
    rm -rf "$LV_WORK"
    rm -f "$LV_LOGS/$LV_NAME"*.log
  else
    echo "logs: $LV_WORK, $LV_LOGS/$LV_NAME.log"
  fi
}

lv_fail() {
  echo "FAIL: $*"
  if [ -f "$LV_WORK/console.log" ]; then
    echo "---- guest console (last lines) ----"
    tail -n 30 "$LV_WORK/console.log"
  fi
  echo "---- qemu (libvirt's log) ----"
  tail -n 15 "$LV_LOGS/$LV_NAME.log" 2>/dev/null
  exit 1
}

lv_wait() {  # SECONDS COMMAND...: until COMMAND succeeds
  local t=$1 i
  shift
  for ((i = 0; i < t * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# The running QEMU's own command line, one argument a line.
lv_qemu_argv() {  # DOMAIN
  local pid
  pid=$(cat "$LV_ROOT/run/libvirt/qemu/run/$1.pid")
  tr '\0' '\n' <"/proc/$pid/cmdline"
}

# Fails unless FILE has a line matching each pattern (grep -E).
lv_expect_lines() {  # WHAT FILE PATTERN...
  local what=$1 file=$2 p
  shift 2
  for p in "$@"; do
    grep -qE -- "$p" "$file" || { cat "$file"; lv_fail "$what: nothing matches '$p'"; }
  done
}
