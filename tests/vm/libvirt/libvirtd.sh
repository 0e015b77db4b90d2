#!/usr/bin/env bash
# The libvirt tests' daemon: a real libvirtd in session mode (qemu:///session),
# with its sockets, configuration and state all under STATE_DIR, run as
# 'nobody' when the tests run as root. Nothing of the system's libvirt
# (/etc/libvirt, /run/libvirt, qemu:///system) is read or written, and several
# build trees can each run one at the same time. One daemon serves every
# libvirt test (the ctest fixture "libvirtd": start is its setup, stop its
# cleanup); stop ends the domains, then the daemons, by their PIDs.
# UNIX socket paths are short (108 bytes) and libvirt puts the monitor socket
# under the configuration folder: home, runtime and work folders live in a
# short /tmp/porthole-libvirt.* folder named in STATE_DIR/root. The QEMU
# capabilities cache and QEMU's logs stay in STATE_DIR/cache, which outlives a
# run: libvirt probes QEMU again only when the binary changes (unless the
# daemon's user cannot reach the build tree: then the cache is per run).
# usage: libvirtd.sh start|stop STATE_DIR
set -euo pipefail
cmd=$1 S=$2

if [ "$(id -u)" -eq 0 ]; then
  user=nobody group=nogroup
  groups=--clear-groups
  # KVM, when this host has it, through the kvm group as a desktop user has it.
  if kvm_gid=$(getent group kvm | cut -d: -f3) && [ -n "$kvm_gid" ]; then groups=--groups=$kvm_gid; fi
  as_user=(setpriv --reuid="$user" --regid="$group" "$groups")
else
  user=$(id -un) group=$(id -gn)
  as_user=()
fi
R=""
[ -s "$S/root" ] && R=$(cat "$S/root")
uri() { echo "qemu+unix:///session?socket=$R/run/libvirt/libvirt-sock"; }

# Ends the process in PIDFILE if it is still the program NAME (a PID reused by
# another program is left alone).
end_pid() {  # PIDFILE NAME
  [ -s "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$2"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop() {
  if [ -n "$R" ] && [ -S "$R/run/libvirt/libvirt-sock" ]; then
    for d in $(timeout 20 virsh -q -c "$(uri)" list --name 2>/dev/null || true); do
      timeout 20 virsh -q -c "$(uri)" destroy --domain "$d" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$R" ]; then
    # What the domains left (a daemon killed mid-test): their QEMU and swtpm.
    for f in "$R"/run/libvirt/qemu/run/*.pid; do [ -e "$f" ] && end_pid "$f" qemu-system; done
    for f in "$R"/run/libvirt/qemu/run/swtpm/*.pid; do [ -e "$f" ] && end_pid "$f" swtpm; done
  fi
  end_pid "$S/libvirtd.pid" libvirtd
  [ -n "$R" ] && end_pid "$R/run/libvirt/virtlogd.pid" virtlogd
  case "$R" in /tmp/porthole-libvirt.*) rm -rf "$R" ;; esac
  rm -f "$S/root" "$S/uri" "$S/user" "$S/kvm" "$S/cachedir"
  R=""
}

start() {
  stop  # what a killed run left
  mkdir -p "$S/cache"
  R=$(mktemp -d /tmp/porthole-libvirt.XXXXXX)
  echo "$R" >"$S/root"
  mkdir -p "$R"/{home/.config/libvirt,run,work}
  chmod 755 "$R"
  chmod 700 "$R/run"
  # QEMU's log straight to a file: no virtlogd to outlive the tests.
  echo 'stdio_handler = "file"' >"$R/home/.config/libvirt/qemu.conf"
  if [ "$(id -u)" -eq 0 ]; then chown -R "$user:$group" "$R/home" "$R/run" "$R/work" "$S/cache"; fi
  # A build tree the daemon's user cannot reach (under /root): no cache kept.
  local cache=$S/cache
  if ! "${as_user[@]}" test -w "$cache"; then
    cache=$R/cache
    mkdir -p "$cache"
    [ "$(id -u)" -eq 0 ] && chown "$user:$group" "$cache"
  fi
  echo "$cache" >"$S/cachedir"
  local envs=(HOME="$R/home" XDG_CONFIG_HOME="$R/home/.config" XDG_CACHE_HOME="$cache"
    XDG_DATA_HOME="$R/home/.local/share" XDG_RUNTIME_DIR="$R/run" PATH=/usr/sbin:/usr/bin:/sbin:/bin)
  # No job control here, so setsid does not fork, and setpriv and env exec: $! is
  # libvirtd itself.
  setsid "${as_user[@]}" env -i "${envs[@]}" libvirtd </dev/null >"$S/libvirtd.log" 2>&1 &
  echo $! >"$S/libvirtd.pid"
  local t0=$SECONDS
  local uri
  uri=$(uri)
  for _ in $(seq 600); do
    if timeout 30 virsh -q -c "$uri" version >/dev/null 2>&1; then break; fi
    kill -0 "$(cat "$S/libvirtd.pid")" 2>/dev/null || { cat "$S/libvirtd.log"; echo "FAIL: libvirtd exited"; exit 1; }
    sleep 0.1
  done
  timeout 30 virsh -q -c "$uri" version >/dev/null ||
    { cat "$S/libvirtd.log"; stop; echo "FAIL: libvirtd did not answer on $uri"; exit 1; }
  echo "$uri" >"$S/uri"
  echo "$user" >"$S/user"
  if "${as_user[@]}" test -w /dev/kvm 2>/dev/null; then echo yes >"$S/kvm"; else echo no >"$S/kvm"; fi
  echo "libvirtd $(virsh -q -c "$uri" version --daemon | awk '/daemon/{print $NF}') as $user, pid $(cat "$S/libvirtd.pid"), up in $((SECONDS - t0)) s: $uri"
}

case "$cmd" in
  start) start ;;
  stop) stop; echo "libvirtd stopped" ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
