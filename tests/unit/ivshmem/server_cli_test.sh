#!/usr/bin/env bash
# porthole-ivshmem-server as a user meets it: bad options exit 2 naming the
# value, a region it cannot serve exits 1 saying why, a file in the socket's
# place is never replaced, a region is grown but never shrunk, and SIGTERM
# stops it cleanly, removing its socket.
# usage: server_cli_test.sh SERVER
set -uo pipefail
server=$1
work=$(mktemp -d)
shm=/dev/shm/porthole-server-cli-$$
trap 'rm -rf "$work"; rm -f "$shm" "$shm-odd"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect() {  # RC PATTERN ARGS...: the server exits RC and says PATTERN
  local want=$1 pattern=$2 rc; shift 2
  "$server" "$@" >"$work/out" 2>&1; rc=$?
  [ "$rc" -eq "$want" ] || { cat "$work/out"; fail "$* exited $rc, not $want"; }
  grep -q -- "$pattern" "$work/out" || { cat "$work/out"; fail "$* did not say '$pattern'"; }
}
sock=$work/s.sock
expect 2 "power of two" --socket "$sock" --shm "$shm" --size 3
expect 2 "octal" --socket "$sock" --shm "$shm" --mode 999
expect 2 "no such group" --socket "$sock" --shm "$shm" --group no-such-group-porthole
expect 2 "" --socket "$sock" --shm "$shm" --vectors 0
expect 1 "give --size" --socket "$sock" --shm "$shm"
truncate -s 3M "$shm-odd"
expect 1 "power of two" --socket "$sock" --shm "$shm-odd"
echo "keep me" >"$work/file"
expect 1 "not a socket" --socket "$work/file" --shm "$shm" --size 1
[ "$(cat "$work/file")" = "keep me" ] || fail "the file in the socket's place was changed"

truncate -s 64M "$shm"
"$server" --socket "$sock" --shm "$shm" --size 32 >"$work/run.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$work/run.log"; fail "no socket"; }
[ "$(stat -c %s "$shm")" -eq $((64 << 20)) ] || fail "the 64 MiB region was shrunk"
[ "$(stat -c %a "$sock")" = 660 ] || fail "the socket's mode is $(stat -c %a "$sock"), not 660"
kill -TERM "$pid"; wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || { cat "$work/run.log"; fail "SIGTERM: exit $rc"; }
[ ! -e "$sock" ] || fail "the socket was left behind"
echo "PASS"
