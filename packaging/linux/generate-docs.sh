#!/bin/sh
# The man page and completions of one program, printed by the program itself
# from its option table (--print-man, --print-completion SHELL), into OUTDIR:
# man/NAME.SECTION.gz, bash/NAME, zsh/_NAME, fish/NAME.fish.
# usage: generate-docs.sh PROGRAM NAME SECTION OUTDIR
set -eu
program=$1 name=$2 section=$3 out=$4
# In the sanitizer builds this is a build step, not a test: a leak report at
# exit must not fail the build (the tests check leaks).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
mkdir -p "$out/man" "$out/bash" "$out/zsh" "$out/fish"
"$program" --print-man >"$out/man/$name.$section.tmp"
# -n: no name or time stamp in the .gz, so a rebuild gives the same bytes.
gzip -9nc "$out/man/$name.$section.tmp" >"$out/man/$name.$section.gz"
rm -f "$out/man/$name.$section.tmp"
"$program" --print-completion bash >"$out/bash/$name"
"$program" --print-completion zsh >"$out/zsh/_$name"
"$program" --print-completion fish >"$out/fish/$name.fish"
