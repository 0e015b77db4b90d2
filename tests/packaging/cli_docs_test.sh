#!/usr/bin/env bash
# The man page and the bash, zsh and fish completions list exactly the options
# --help lists, command by command: the set of "COMMAND-PATH OPTION" pairs read
# back from each generated file equals the one read from --help. Then each
# script passes its shell's syntax check, man renders the page without a
# warning, and bash and fish really complete an option's choices.
# usage: cli_docs_test.sh PROGRAM_BINARY NAME
set -uo pipefail
bin=$1 name=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --help, recursively: "path option" lines ("-" is the program itself).
help_pairs() {
  local path=("$@") text sub
  text=$("$bin" "${path[@]}" --help) || fail "$name ${path[*]} --help failed"
  local key=${path[*]:-}; key=${key// //}; key=${key:--}
  awk -v key="$key" '
    /^[A-Z][a-z]*:$/ { section = $0; next }
    section == "Options:" && /^  -/ {
      n = split($1, names, ",")
      # CLI11 shows a flag that sets another value as --no-x{false}.
      for (i = 1; i <= n; i++) { sub(/[= {].*/, "", names[i]); print key, names[i] }
    }' <<<"$text"
  for sub in $(awk '/^[A-Z][a-z]*:$/ { s = $0; next } s == "Subcommands:" && /^  [a-z]/ { print $1 }' <<<"$text"); do
    help_pairs "${path[@]}" "$sub"
  done
}
help_pairs | sort -u >"$work/help"
[ -s "$work/help" ] || fail "no options read from --help"

"$bin" --print-man >"$work/man" || fail "--print-man"
for sh in bash zsh fish; do
  "$bin" --print-completion "$sh" >"$work/$sh" || fail "--print-completion $sh"
done
"$bin" --print-completion tcsh >/dev/null 2>&1 && fail "an unknown shell was accepted"

# man: .SS "NAME a b" opens a command; each .TP's next line names its options.
awk -v name="$name" '
  BEGIN { key = "-" }
  /^\.SS / { line = $0; gsub(/^\.SS "|"$/, "", line); gsub(/\\-/, "-", line)
             sub("^" name " ?", "", line); gsub(/ /, "/", line); key = line; next }
  /^\.SH / { key = ($2 == "OPTIONS") ? "-" : ""; next }
  tp && key != "" {
    while (match($0, /\\fB[^\\]*(\\-[^\\]*)*\\fR/)) {
      opt = substr($0, RSTART + 3, RLENGTH - 6); gsub(/\\-/, "-", opt)
      if (opt ~ /^-/) print key, opt
      $0 = substr($0, RSTART + RLENGTH)
    }
  }
  { tp = ($0 == ".TP") }' "$work/man" | sort -u >"$work/from-man"

# bash: each "PATH") block ends with its compgen -W word list.
awk '
  /^    "[^"]*"\)$/ { key = $1; gsub(/[")]/, "", key); sub(/^\//, "", key); if (key == "") key = "-"; next }
  /COMPREPLY=\(\$\(compgen -W .* -- "\$cur"\)\) ;;$/ {
    line = $0; sub(/.*compgen -W '\''/, "", line); sub(/'\''.*/, "", line)
    n = split(line, w, " "); for (i = 1; i <= n; i++) if (w[i] ~ /^-/) print key, w[i]
  }' "$work/bash" | sort -u >"$work/from-bash"

# zsh: one function per command, _NAME__a__b_c() for "a b-c"; specs start with [*]-option.
fn_prefix="_${name//-/_}"
awk -v prefix="$fn_prefix" '
  /^_[a-z_]*\(\) \{$/ { key = $1; sub(/\(\)$/, "", key); sub("^" prefix "(__)?", "", key)
                        gsub(/__/, "/", key); gsub(/_/, "-", key); if (key == "") key = "-"; next }
  /^        '\''\*?-/ { opt = $0; sub(/^        '\''\*?/, "", opt); sub(/[=+\[].*/, "", opt); print key, opt }' \
  "$work/zsh" | sort -u >"$work/from-zsh"

# fish: the command is every __fish_seen_subcommand_from not negated.
awk '
  /^complete / && (/ -l / || / -s /) {
    key = ""; line = $0
    while (match(line, /(and not )?__fish_seen_subcommand_from [a-z-]+/)) {
      part = substr(line, RSTART, RLENGTH)
      if (part !~ /^and not/) { sub(/.* /, "", part); key = key (key == "" ? "" : "/") part }
      line = substr(line, RSTART + RLENGTH)
    }
    if (key == "") key = "-"
    for (i = 1; i <= NF; i++) {
      if ($i == "-l") print key, "--" $(i + 1)
      if ($i == "-s") print key, "-" $(i + 1)
    }
  }' "$work/fish" | sort -u >"$work/from-fish"

for src in man bash zsh fish; do
  if ! diff -u "$work/help" "$work/from-$src" >"$work/diff-$src"; then
    echo "--- '$name --help' vs its $src output (- only in --help, + only in $src):"
    cat "$work/diff-$src"
    fail "$src disagrees with --help"
  fi
done
echo "$(wc -l <"$work/help") command/option pairs agree in --help, man, bash, zsh and fish"

bash -n "$work/bash" || fail "bash syntax"
if command -v zsh >/dev/null; then zsh -n "$work/zsh" || fail "zsh syntax"; fi
if command -v fish >/dev/null; then fish -n "$work/fish" || fail "fish syntax"; fi
warnings=$(MANWIDTH=80 man --warnings -l "$work/man" 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "man warns: $warnings"
MANWIDTH=80 man -l "$work/man" 2>/dev/null | grep -q "^NAME" || fail "man shows no NAME section"

# Completion at work: the first option with choices, completed after its name.
first=$(grep -m1 -oE '^        (--[a-z-]+)(\|[^)]*)?\) COMPREPLY=\(\$\(compgen -W '\''[^'\'']+' "$work/bash")
if [ -n "$first" ]; then
  opt=$(sed -E 's/^ +(--[a-z-]+).*/\1/' <<<"$first")
  want=$(sed -E "s/.*compgen -W '//" <<<"$first")
  # The option's command path is the block it sits in.
  path=$(awk -v o="$opt" '/^    "[^"]*"\)$/ { p = $1; gsub(/[")]/, "", p); gsub(/\//, " ", p) }
                          index($0, "        " o) == 1 { print p; exit }' "$work/bash")
  got=$(bash -c 'source "$1"; shift; COMP_WORDS=("$@" ""); COMP_CWORD=$(($# )); '"${fn_prefix}"'; echo "${COMPREPLY[*]}"' \
        _ "$work/bash" "$name" $path "$opt")
  [ "$got" = "$want" ] || fail "bash completes '$name $path $opt ' to '$got', want '$want'"
  if command -v fish >/dev/null; then
    gotf=$(fish -c "source $work/fish; complete -C '$name $path $opt '" | awk '{print $1}' | sort | tr '\n' ' ')
    wantf=$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')
    [ "$gotf" = "$wantf" ] || fail "fish completes '$name $path $opt ' to '$gotf', want '$wantf'"
  fi
  echo "bash and fish complete '$name${path:+ $path} $opt ' to: $want"
fi
# A program with commands: bash and fish offer each of them on an empty line.
subs=$(awk '$1 != "-" { split($1, p, "/"); print p[1] }' "$work/help" | sort -u | tr '\n' ' ')
if [ -n "$subs" ]; then
  got=$(bash -c 'source "$1"; COMP_WORDS=("$2" ""); COMP_CWORD=1; '"${fn_prefix}"'; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$work/bash" "$name" | grep -v '^-' | sort | tr '\n' ' ')
  [ "$got" = "$subs" ] || fail "bash offers commands '$got', want '$subs'"
  if command -v fish >/dev/null; then
    gotf=$(fish -c "source $work/fish; complete -C '$name '" | awk '$1 !~ /^-/ {print $1}' | sort | tr '\n' ' ')
    [ "$gotf" = "$subs" ] || fail "fish offers commands '$gotf', want '$subs'"
  fi
  echo "bash and fish offer the commands: $subs"
fi
echo PASS
