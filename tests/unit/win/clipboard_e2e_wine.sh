#!/bin/sh
# The clipboard end to end with the real programs: porthole-agent.exe under
# Wine (Wine's clipboard is backed by the fixture's Xvfb) and the Linux host
# client `porthole` on a second Xvfb, sharing one region file in /dev/shm
# (the agent maps it through a Z: path). Text and a PNG copied with xclip on
# the host arrive in Wine's clipboard and back, byte and pixel exact; the
# host's image leaves the host only when Wine's side pastes it.
# Usage: clipboard_e2e_wine.sh WINE_RUN AGENT_EXE HOST_CLIENT HELPER_PY
# Exit 77 (skipped) when the host client is not built (release preset).
set -u
wine_run=$1 agent=$2 client=$3 helper=$4
[ -x "$client" ] || { echo "SKIP: no host client at $client (build the release preset)"; exit 77; }
prefix=$(sed -n "s/^export WINEPREFIX='\(.*\)'$/\1/p" "$wine_run")
[ -s "$prefix.display" ] || { echo "FAIL: the Wine fixture's Xvfb is not running"; exit 1; }
wine_x=":$(cat "$prefix.display")"
tmp=$(mktemp -d /tmp/porthole-wine-clipboard-XXXXXX)
region=/dev/shm/porthole-wine-clipboard-$$
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  # Bounded: a process that ignores SIGTERM is killed, never waited for.
  for _ in $(seq 50); do
    alive=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp" "$region"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- agent:"; cat "$tmp/agent.out"; echo "--- client:"; cat "$tmp/client.out"; exit 1; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  end=$(($(date +%s) + $1)); shift
  while [ "$(date +%s)" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
  return 1
}
has_log() { grep -q "$2" "$1" 2>/dev/null; }
# Copies file $2 on display $1 (target $3, default text); xclip serves it until
# another program copies.
copy() {
  DISPLAY=$1 xclip -quiet -selection clipboard ${3:+-t "$3"} -i "$2" >/dev/null 2>&1 &
  pids="$pids $!"
}
paste() { DISPLAY=$1 timeout 10 xclip -selection clipboard -o ${3:+-t "$3"} >"$2" 2>/dev/null; }
pasted_equals() { paste "$1" "$tmp/pasted" "${3:-}" && cmp -s "$tmp/pasted" "$2"; }
targets_have() { paste "$1" "$tmp/targets" TARGETS && grep -qx "$2" "$tmp/targets"; }

Xvfb -displayfd 5 -nolisten tcp -screen 0 320x240x24 5>"$tmp/host.display" </dev/null >/dev/null 2>&1 &
pids="$pids $!"
wait_for 10 test -s "$tmp/host.display" || fail "the host's Xvfb did not start"
host_x=":$(cat "$tmp/host.display")"

"$wine_run" "$agent" --shm "Z:$region" --shm-size 8 --capture pattern --width 64 --height 64 \
  --fps-limit 5 --input none --audio none --clipboard win32 >"$tmp/agent.out" 2>&1 &
pids="$pids $!"
wait_for 30 has_log "$tmp/agent.out" "clipboard: win32" || fail "the agent did not start"
DISPLAY=$host_x "$client" --shm "$region" --size 320x240 --input none --audio off \
  --clipboard both >"$tmp/client.out" 2>&1 &
pids="$pids $!"
wait_for 30 has_log "$tmp/agent.out" "host client" || fail "the host never attached"

# Host -> Wine: a text with a multi-byte character and a line end.
printf 'h\303\251llo from the host\nline 2' >"$tmp/host.txt"
copy "$host_x" "$tmp/host.txt"
wait_for 15 pasted_equals "$wine_x" "$tmp/host.txt" || fail "the host's text did not reach Wine's clipboard"
echo "ok: host text in Wine's clipboard"

# Host -> Wine: a PNG of noise (about 190 KiB, several chunks of the channel).
python3 "$helper" make 240 270 1 "$tmp/host.png" || fail "no test PNG"
copy "$host_x" "$tmp/host.png" image/png
# Wine's X11 driver serves CF_DIB to X programs as image/bmp.
wait_for 15 targets_have "$wine_x" image/bmp ||
  fail "Wine's clipboard never offered the host's image; its targets: $(tr '\n' ' ' <"$tmp/targets")"
sleep 0.5  # time for an eager fetch, were there one
before=$(python3 "$helper" asked "$region")
[ "${before%% *}" != 2 ] || fail "the host's image travelled before a paste (agent's request: $before)"
paste "$wine_x" "$tmp/wine.bmp" image/bmp || fail "Wine's clipboard gave no image/bmp"
after=$(python3 "$helper" asked "$region")
[ "$after" = "2 $(stat -c %s "$tmp/host.png")" ] || fail "the paste did not fetch the host's whole PNG (agent's request: $after)"
python3 "$helper" same "$tmp/host.png" "$tmp/wine.bmp" || fail "the host's image changed on its way into Wine"
echo "ok: host PNG in Wine's clipboard, pixel exact"

# Wine -> host: a text copied on Wine's display (Wine takes it into its clipboard).
printf 'from wine \303\270\nline 2' >"$tmp/wine.txt"
copy "$wine_x" "$tmp/wine.txt"
wait_for 15 pasted_equals "$host_x" "$tmp/wine.txt" || fail "Wine's text did not reach the host"
echo "ok: Wine text on the host"

# Wine -> host: an image copied on Wine's display as image/bmp (Wine's X11
# driver takes that as CF_DIB), a PNG on the host through WIC.
python3 "$helper" make 200 150 2 "$tmp/wine-src.bmp" || fail "no test BMP"
copy "$wine_x" "$tmp/wine-src.bmp" image/bmp
wait_for 15 targets_have "$host_x" image/png ||
  fail "the host never offered Wine's image; its targets: $(tr '\n' ' ' <"$tmp/targets")"
paste "$host_x" "$tmp/host-got.png" image/png || fail "the host's clipboard gave no image/png"
python3 "$helper" same "$tmp/wine-src.bmp" "$tmp/host-got.png" || fail "Wine's image changed on its way to the host"
echo "ok: Wine image on the host as a PNG, pixel exact"
echo PASS
