#!/usr/bin/env bash
# LDAP address-book search, Gatehouse and a private OpenLDAP slapd 2.5 side by side, on
# the same machine in the same run, holding the same N (default 10,000) people:
#
#   Thunderbird's filter (|(cn=*T*)(mail=*T*)(sn=*T*)(givenName=*T*)), subtree from
#   dc=example,dc=org, size limit 100, CONNS (8) connections each with one search in
#   flight, DURATION (20 s), for
#     - indexed: one 5-letter term present in many entries (TERM5, default "ander":
#       Anderson, Alexander), which slapd answers from its substring index;
#     - mix: 2,000 terms of 2 to 5 letters drawn from the people's cn, mail, sn and
#       givenName (bench/ldap/people), the same list for both servers.
#   Searches/s, p50/p99 latency and the server's CPU seconds (utime + stime from
#   /proc/PID/stat) over each run. REPS (3) rounds, interleaved: per round each workload
#   runs against both servers, the first server alternating; medians and the spread.
#
#   sudo bench/ldap/run.sh          (from anywhere in the checkout; needs root)
#
# The load tool (bench/ldap/load) encodes every SearchRequest once and reads responses at
# the BER framing level: a client library would cost more CPU than slapd does. Both
# servers get one simple bind per connection as the same person.
#
# slapd comes from Debian (installed if missing) but the system service is not used: a
# private instance runs from a slapd.conf in a temp dir (mdb backend, suffix
# dc=example,dc=org, index cn,sn,givenName,mail eq,sub; loglevel 0 as Debian ships it),
# filled with slapadd, listening on 127.0.0.1 only, stopped by its PID at exit. Gatehouse
# is built from this checkout; its data dir is filled directly through the store
# (bench/ldap/people: one precomputed password hash for all) before it starts with only
# the LDAP and debug (pprof) listeners, stopped by its PID at exit.
#
# Environment: N (10000) people, REPS (3), DURATION (20s), CONNS (8), SIZE (100),
# TERM5 (ander), KEEP_TMP=1 to keep the temp dir, PROFILE=1 to save a 10 s CPU profile of
# Gatehouse during its first mix run, from 3 s in (in the temp dir; implies KEEP_TMP=1;
# needs DURATION >= 14s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/bench/lib.sh"
people=${N:-10000}
reps=${REPS:-3}
duration=${DURATION:-20s}
conns=${CONNS:-8}
size=${SIZE:-100}
term=${TERM5:-ander}
profile=${PROFILE:-0}
[[ $profile == 1 ]] && KEEP_TMP=1
export PATH="$PATH:/usr/sbin:/sbin"


[[ $EUID -eq 0 ]] || die "run as root: it installs slapd if missing"
command -v go >/dev/null || die "go not found in PATH"
command -v python3 >/dev/null || die "python3 not found in PATH"
[[ -f "$root/cmd/gatehouse/main.go" ]] || die "cannot find cmd/gatehouse under $root"
[[ $term =~ ^[a-z]{5}$ ]] || die "TERM5 must be 5 lower-case letters"

if ! command -v slapd >/dev/null || ! command -v slapadd >/dev/null; then
	say "installing slapd from Debian (the system slapd service is not used)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null
	# The package starts the system service; this benchmark does not need it.
fi
slapd_bin=$(command -v slapd)
slapd_version=$(dpkg-query -W -f '${Version}' slapd 2>/dev/null || echo unknown)
[[ $slapd_version == 2.5.* ]] || say "note: slapd $slapd_version, not 2.5"
modules=/usr/lib/ldap
[[ -e $modules/back_mdb.so ]] || die "no back_mdb.so in $modules"

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-ldap-bench.XXXXXX")
chmod 0755 "$work"

gh_pid= slapd_pid= client_pid=
cleanup() {
	local rc=$?
	stop_pid "$client_pid"
	if ((rc != 0)); then
		log_tail Gatehouse "$work/gh/serve.log"
		log_tail slapd "$work/slapd.log"
	fi
	stop_pid "$gh_pid"
	stop_pid "$slapd_pid"
	remove_work
	exit "$rc"
}
on_exit cleanup


cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- builds and data
say "building gatehouse and the benchmark tools ..."
gh=$work/gatehouse load=$work/load gen=$work/people
(cd "$root" && go build -o "$gh" ./cmd/gatehouse && go build -o "$load" ./bench/ldap/load && go build -o "$gen" ./bench/ldap/people)
gh_version="$("$gh" version 2>/dev/null | head -n 1) ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
password=bench-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$password" >"$work/password"
chmod 0600 "$work/password"

gh_dir=$work/gh
mkdir -p "$gh_dir/data"
say "generating $people people into an LDIF file and the Gatehouse store ..."
gen_out=$("$gen" -n "$people" -ldif "$work/people.ldif" -store "$gh_dir/data" -terms "$work/mix.txt" -password-file "$work/password")
bind_uid=$(sed -n 's/^bind_uid=\([^ ]*\).*/\1/p' <<<"$gen_out")
[[ -n $bind_uid ]] || die "people did not name the bind user"
bind_dn="uid=$bind_uid,ou=people,dc=example,dc=org"

# --- a private slapd
sl_port=$(free_port)
mkdir -p "$work/slapd-db"
cat >"$work/slapd.conf" <<EOC
# Private benchmark instance, written by bench/ldap/run.sh.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath $modules
moduleload back_mdb
pidfile $work/slapd.pid
argsfile $work/slapd.args
loglevel 0
database mdb
maxsize 1073741824
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
directory $work/slapd-db
index objectClass eq
index uid eq
index cn,sn,givenName,mail eq,sub
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOC
say "loading slapd with slapadd ..."
slapadd -q -f "$work/slapd.conf" -l "$work/people.ldif" >"$work/slapadd.log" 2>&1 || { cat "$work/slapadd.log" >&2; die "slapadd failed"; }
# -d 0: stay in the foreground (so $! is slapd) with no debug output.
"$slapd_bin" -d 0 -h "ldap://127.0.0.1:$sl_port/" -f "$work/slapd.conf" >"$work/slapd.log" 2>&1 &
slapd_pid=$!
wait_listen "$sl_port" slapd
kill -0 "$slapd_pid" 2>/dev/null || die "slapd exited at start"
say "slapd $slapd_version running as PID $slapd_pid on 127.0.0.1:$sl_port"

# --- Gatehouse, only the LDAP and debug listeners
gh_port=$(free_port) gh_debug=$(free_port)
cat >"$gh_dir/gatehouse.toml" <<EOC
# Written by bench/ldap/run.sh.
data_dir = "$gh_dir/data"
hostname = "mail.example.org"
shutdown_grace = "5s"
[listen]
http = ""
https = ""
imap = ""
imaps = ""
smtp = ""
submission = ""
submissions = ""
ldap = "127.0.0.1:$gh_port"
ldaps = ""
debug = "127.0.0.1:$gh_debug"
[log]
level = "warn"
EOC
"$gh" serve --config "$gh_dir/gatehouse.toml" >"$gh_dir/serve.out" 2>"$gh_dir/serve.log" &
gh_pid=$!
wait_listen "$gh_port" gatehouse
kill -0 "$gh_pid" 2>/dev/null || die "gatehouse exited at start"
say "Gatehouse running as PID $gh_pid on 127.0.0.1:$gh_port"

pid_of() { if [[ $1 == gatehouse ]]; then echo "$gh_pid"; else echo "$slapd_pid"; fi; }
port_of() { if [[ $1 == gatehouse ]]; then echo "$gh_port"; else echo "$sl_port"; fi; }
load_args() { printf '%s\n' -addr "127.0.0.1:$(port_of "$1")" -bind-dn "$bind_dn" -pass-file "$work/password" -size-limit "$size"; }

# --- the same answers: every term once on each server (also warms both up)
for s in gatehouse slapd; do
	mapfile -t a < <(load_args "$s")
	"$load" "${a[@]}" -verify -terms "$work/mix.txt" >"$work/$s-verify-mix.txt"
	"$load" "${a[@]}" -verify -term "$term" >"$work/$s-verify-indexed.txt"
done
cmp -s "$work/gatehouse-verify-mix.txt" "$work/slapd-verify-mix.txt" || {
	diff "$work/gatehouse-verify-mix.txt" "$work/slapd-verify-mix.txt" | head -n 20 >&2
	die "the servers return different entry counts for the mixed terms (above: term entries code)"
}
cmp -s "$work/gatehouse-verify-indexed.txt" "$work/slapd-verify-indexed.txt" || die "the servers differ on $term"
read -r _ indexed_entries indexed_code <"$work/gatehouse-verify-indexed.txt"
mix_full=$(awk -v s="$size" '$3 == 4 { n++ } END { print n + 0 }' "$work/gatehouse-verify-mix.txt")
mix_entries=$(awk '{ s += $2 } END { printf "%.1f", s / NR }' "$work/gatehouse-verify-mix.txt")
say "answers agree: $term -> $indexed_entries entries (code $indexed_code); mix: $mix_entries entries per term, $mix_full of $(wc -l <"$work/mix.txt") terms hit the size limit"

# --- the runs
declare -A R # R[server.workload.round.key]
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; } # field LINE KEY
one_run() {                                          # server workload round
	local s=$1 w=$2 r=$3 pid cpu0 cpu1 line prof_pid=
	pid=$(pid_of "$s")
	mapfile -t a < <(load_args "$s")
	if [[ $w == indexed ]]; then a+=(-term "$term"); else a+=(-terms "$work/mix.txt"); fi
	if [[ $profile == 1 && $s == gatehouse && $w == mix && $r == 1 ]]; then
		(sleep 3 && curl -s -o "$work/gatehouse-mix.pprof" "http://127.0.0.1:$gh_debug/debug/pprof/profile?seconds=10") &
		prof_pid=$!
	fi
	cpu0=$(cpu_of "$pid")
	"$load" "${a[@]}" -conns "$conns" -duration "$duration" >"$work/$s-$w-$r.out" 2>"$work/$s-$w-$r.err" &
	client_pid=$!
	wait "$client_pid" || { cat "$work/$s-$w-$r.err" >&2; die "$w against $s failed"; }
	client_pid=
	cpu1=$(cpu_of "$pid")
	[[ -z $prof_pid ]] || wait "$prof_pid" || true
	line=$(grep '^RESULT' "$work/$s-$w-$r.out")
	[[ $(field "$line" errors) == 0 ]] || { cat "$work/$s-$w-$r.err" >&2; die "$w against $s: errors"; }
	R[$s.$w.$r.rate]=$(field "$line" rate)
	R[$s.$w.$r.p50]=$(field "$line" p50_ms)
	R[$s.$w.$r.p99]=$(field "$line" p99_ms)
	R[$s.$w.$r.cpu]=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')
	R[$s.$w.$r.cpus]=$(awk -v c="${R[$s.$w.$r.cpu]}" -v n="$(field "$line" searches)" 'BEGIN { printf "%.0f", (n > 0) ? c * 1e6 / n : 0 }')
	say "  round $r $w $s: ${R[$s.$w.$r.rate]}/s p50 ${R[$s.$w.$r.p50]} ms p99 ${R[$s.$w.$r.p99]} ms, server CPU ${R[$s.$w.$r.cpu]} s (${R[$s.$w.$r.cpus]} us/search)"
}
for r in $(seq "$reps"); do
	if ((r % 2)); then order=(gatehouse slapd); else order=(slapd gatehouse); fi
	for w in indexed mix; do
		for s in "${order[@]}"; do one_run "$s" "$w" "$r"; done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
gh_warn=$(grep -iE 'level=(ERROR|WARN)|panic' "$gh_dir/serve.log" | head -n 20 || true)
[[ -z $gh_warn ]] || say "$gh_warn" "(errors or warnings in the Gatehouse log, above)"

# --- report: medians over the rounds, with min-max
stat3() { # server workload key -> "median (min-max)"
	local s=$1 w=$2 k=$3 r
	for r in $(seq "$reps"); do echo "${R[$s.$w.$r.$k]}"; done | sort -g | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s|%s|%s", m, v[1], v[NR] }'
}
cell() { IFS='|' read -r m lo hi <<<"$1"; awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$2" 'BEGIN { printf f " (" f "–" f ")", m, lo, hi }'; }
med() { IFS='|' read -r m _ _ <<<"$1"; echo "$m"; }
rows() { # workload label
	local w=$1 l=$2 g s k
	for k in rate p50 p99 cpus; do
		g=$(stat3 gatehouse "$w" "$k") s=$(stat3 slapd "$w" "$k")
		case $k in
		rate) printf '| %s: searches/s | %s | %s | %.2f |\n' "$l" "$(cell "$g" %.0f)" "$(cell "$s" %.0f)" "$(awk -v a="$(med "$g")" -v b="$(med "$s")" 'BEGIN { print a / b }')" ;;
		p50) printf '| %s: p50 latency (ms) | %s | %s | |\n' "$l" "$(cell "$g" %.2f)" "$(cell "$s" %.2f)" ;;
		p99) printf '| %s: p99 latency (ms) | %s | %s | |\n' "$l" "$(cell "$g" %.2f)" "$(cell "$s" %.2f)" ;;
		cpus) printf '| %s: server CPU per search (µs) | %s | %s | %.2f |\n' "$l" "$(cell "$g" %.0f)" "$(cell "$s" %.0f)" "$(awk -v a="$(med "$g")" -v b="$(med "$s")" 'BEGIN { print a / b }')" ;;
		esac
	done
}
mix_ratio=$(awk -v a="$(med "$(stat3 gatehouse mix rate)")" -v b="$(med "$(stat3 slapd mix rate)")" 'BEGIN { printf "%.2f", a / b }')
cat <<EOT

LDAP address-book search, Gatehouse vs OpenLDAP slapd $slapd_version (mdb), same machine, same run
$people people; (|(cn=*T*)(mail=*T*)(sn=*T*)(givenName=*T*)), size limit $size, $conns connections, $duration per run;
median of $reps interleaved rounds (min–max); ratio = Gatehouse / slapd

| measure | Gatehouse | slapd | ratio |
|---|---:|---:|---:|
$(rows indexed "indexed \"$term\" ($indexed_entries entries)")
$(rows mix "mix of 2–5 letters ($mix_entries entries/search)")

Target >= 2x slapd's searches/s on the mix: $(awk -v r="$mix_ratio" 'BEGIN { print (r >= 2) ? "met" : "NOT met" }') ($mix_ratio x).
Mix: $(wc -l <"$work/mix.txt") terms, $mix_full of them hit the size limit; both servers return the same number of entries for every term.
Server CPU is utime + stime of the server process over the run; the load tool runs on the same CPUs.
Machine: $(nproc) CPU(s), $cpu_model; $mem_total RAM; Linux $(uname -r)
Load average (1/5/15 min): $load_before before, $load_after after (the machine is shared)
Gatehouse: $gh_version; Go $(go version | awk '{print $3}'); slapd $slapd_version, mdb, index cn,sn,givenName,mail eq,sub
EOT
