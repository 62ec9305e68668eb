#!/usr/bin/env bash
# IMAP side by side, Gatehouse and a private Dovecot, on the same machine in the same run,
# with one load tool written on go-imap/v2's imapclient (bench/imap/load):
#
#   1. APPEND N (default 2,000) distinct 1–3 KB messages to INBOX sequentially over one
#      connection, durable on both sides (Gatehouse: the store's deliver, fsync + SQLite
#      synchronous=FULL; Dovecot: maildir with mail_fsync=always): msgs/s, and the
#      server's CPU seconds over the run.
#   2. SELECT INBOX, then UID FETCH 1:* (FLAGS ENVELOPE) REPS times: median per full fetch.
#   2b. Thunderbird's header FETCH (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (...)]),
#      timed the same two ways (not a target of the issue; what Thunderbird sends).
#   3. UID SEARCH by SUBJECT, FROM, BODY, UNSEEN (median of REPS each), then
#      UID STORE 1:* +FLAGS (\Seen) (median of REPS, each undone untimed with -FLAGS.SILENT).
#   4. CONNS (default 200) connections, each logged in, INBOX selected, in IDLE: server
#      memory per connection. Gatehouse: Rss and Pss of its one process (smaps_rollup)
#      after minus before, / CONNS. Dovecot: the sum of Pss of its `imap` processes (one
#      per connection) / CONNS, and the whole Dovecot process tree's Pss after minus
#      before, / CONNS. Also the marginal cost: the same readings taken with CONNS/2
#      connections up and with all of them, the difference / (CONNS/2), which leaves out
#      one-off growth (Gatehouse's first argon2id LOGIN buffer, for one).
#
#   sudo bench/imap/run.sh          (from anywhere in the checkout; needs root)
#
# Dovecot comes from Debian (dovecot-imapd, installed if missing) but the system service
# is not used: a private instance runs from a config in a temp dir, listening on
# 127.0.0.1 only, stopped by its PID at exit (as in bench/dovecot/run.sh). Gatehouse is
# built from this checkout, every listener on a free 127.0.0.1 port, and stopped by its
# PID at exit. Both keep their data under the same temp dir, so on the same filesystem.
#
# Environment: N (2000) messages, REPS (7) timed repetitions, CONNS (200) idle
# connections, PAR (1) idle connections logging in at once, SETTLE (30) seconds of
# memory readings while they are held, FIRST (gatehouse|dovecot, default gatehouse)
# which server goes first, BIG (0: skip) to fill the mailbox up to BIG messages
# afterwards (Gatehouse: APPEND over BIG_PAR_GATEHOUSE=8 connections; Dovecot: maildir
# files written into cur/, see below; not a comparison), then one untimed SELECT + FETCH
# (Dovecot indexes the new files there), then SELECT and UID FETCH 1:* (FLAGS ENVELOPE)
# BIG_REPS (3) times, CPU_REPS (20) extra FETCHes whose server CPU time is averaged
# (the FETCH row's time includes the client's parsing, the same client for both; the
# "answer complete" row is REPS more FETCHes timed until the tagged OK arrived, the
# answer read off the socket as it came and held from the client until then, so that
# the client's parsing neither competes for the CPU nor slows the server through flow
# control: the server's time, see bench/imap/load/eager.go),
# PROFILE=1 to take a CPU profile of Gatehouse over the big FETCHes (its debug listener,
# PROFILE_SECONDS=6, written to PROFILE_OUT=/tmp/gatehouse-bigfetch.pprof),
# KEEP_TMP=1 to keep the temp dir (configs, logs, data) for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/bench/lib.sh"
total=${N:-2000}
reps=${REPS:-7}
conns=${CONNS:-200}
first=${FIRST:-gatehouse}
settle=${SETTLE:-30}
par=${PAR:-1}
big=${BIG:-0}
big_par_gh=${BIG_PAR_GATEHOUSE:-8}
big_reps=${BIG_REPS:-3}
cpu_reps=${CPU_REPS:-20}
export PATH="$PATH:/usr/sbin:/sbin"


[[ $EUID -eq 0 ]] || die "run as root: it installs dovecot-imapd if missing and starts a private Dovecot that switches to an unprivileged mail uid"
command -v go >/dev/null || die "go not found in PATH"
command -v python3 >/dev/null || die "python3 not found in PATH"
[[ -f "$root/cmd/gatehouse/main.go" ]] || die "cannot find cmd/gatehouse under $root"
case $first in gatehouse | dovecot) ;; *) die "FIRST must be gatehouse or dovecot" ;; esac

if ! command -v dovecot >/dev/null; then
	say "installing dovecot-imapd from Debian (the system dovecot service is not used)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi
dovecot_bin=$(command -v dovecot)
dovecot_version=$("$dovecot_bin" --version | awk '{print $1}')
IFS=. read -r dv_major dv_minor _ <<<"$dovecot_version"
((dv_major == 2 && dv_minor == 3)) || die "this script writes a Dovecot 2.3 config; found $dovecot_version"

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-imap-bench.XXXXXX")
chmod 0755 "$work" # Dovecot's auth and mail processes run as other users and must reach in here

gh_pid= dovecot_pid= client_pid=
cleanup() {
	local rc=$?
	stop_pid "$client_pid"
	if ((rc != 0)); then
		log_tail Gatehouse "$work/gh/serve.log"
		log_tail Dovecot "$work/dovecot.log"
	fi
	stop_pid "$gh_pid"
	stop_pid "$dovecot_pid"
	remove_work
	exit "$rc"
}
on_exit cleanup


# --- the machine, before the load starts
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Model)/ {print $2; exit}' /proc/cpuinfo)
fs=$(df -PT "$work" 2>/dev/null | awk 'NR==2 && $2 != "-" {print $2 " on " $1 " (mounted at " $7 ")"}')
[[ -n $fs ]] || fs="$(stat -f -c %T "$work") (df -T could not tell)"
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- builds
say "building gatehouse and the load tool ..."
gh=$work/gatehouse load=$work/load
(cd "$root" && go build -o "$gh" ./cmd/gatehouse && go build -o "$load" ./bench/imap/load)
gh_version="$("$gh" version 2>/dev/null | head -n 1) ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
password=bench-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$password" >"$work/password"
chmod 0600 "$work/password"

# --- Gatehouse
gh_dir=$work/gh
mkdir -p "$gh_dir"
debug_listen=
[[ ${PROFILE:-} == 1 ]] && debug_listen="debug = \"127.0.0.1:$(free_port)\""
cat >"$gh_dir/gatehouse.toml" <<EOC
# Written by bench/imap/run.sh.
hostname = "mail.example.org"
shutdown_grace = "5s"
[listen]
$debug_listen
http = "127.0.0.1:0"
https = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
ldap = "127.0.0.1:0"
ldaps = "127.0.0.1:0"
EOC
ghc() { "$gh" "$@" --config "$gh_dir/gatehouse.toml" --data "$gh_dir/data"; }
ghc user add bench@example.org --password-stdin <"$work/password" >"$gh_dir/useradd.out"
"$gh" serve --config "$gh_dir/gatehouse.toml" --data "$gh_dir/data" >"$gh_dir/serve.out" 2>"$gh_dir/serve.log" &
gh_pid=$!
for i in $(seq 300); do
	kill -0 "$gh_pid" 2>/dev/null || die "gatehouse serve exited at start"
	grep -q 'gatehouse is running' "$gh_dir/serve.log" 2>/dev/null && break
	((i < 300)) || die "gatehouse did not start within 30 s"
	sleep 0.1
done
gh_port=$(sed -n 's/.*msg=listening listener=imap addr=[^ ]*:\([0-9]*\).*/\1/p' "$gh_dir/serve.log" | head -n 1)
[[ -n $gh_port ]] || die "no imap listener in the Gatehouse log"
wait_listen "$gh_port" gatehouse
say "Gatehouse running as PID $gh_pid on 127.0.0.1:$gh_port"

# --- a private Dovecot 2.3
dv_port=$(free_port)
mail_uid=$(id -u nobody) mail_gid=$(id -g nobody)
mkdir -p "$work/run" "$work/state" "$work/mail"
install -d -o "$mail_uid" -g "$mail_gid" -m 0700 "$work/mail/bench"
printf '%s:{PLAIN}%s:%s:%s::%s::\n' bench "$password" "$mail_uid" "$mail_gid" "$work/mail/bench" >"$work/passwd"
chmod 0644 "$work/passwd"
conf=$work/dovecot.conf
cat >"$conf" <<EOC
# Private benchmark instance (Dovecot 2.3 syntax), written by bench/imap/run.sh.
base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN $work/passwd
}
userdb {
  driver = passwd-file
  args = $work/passwd
}
first_valid_uid = $mail_uid
last_valid_uid = $mail_uid
mail_location = maildir:~/Maildir
# Every APPEND is on disk (message file, its directory, index and uidlist) before OK.
mail_fsync = always
protocol imap {
  mail_max_userip_connections = $((conns + 50))
}
service imap-login {
  process_limit = $((conns + 50))
  inet_listener imap {
    address = 127.0.0.1
    port = $dv_port
  }
  inet_listener imaps {
    port = 0
  }
}
service imap {
  process_limit = $((conns + 50))
}
EOC
doveconf -c "$conf" -n >"$work/doveconf.out" 2>&1 || { cat "$work/doveconf.out" >&2; die "Dovecot rejected the generated config"; }
[[ $(doveconf -c "$conf" -h mail_fsync 2>/dev/null) == always ]] || die "mail_fsync is not 'always' in the effective config"
[[ $(doveconf -c "$conf" -h imap_hibernate_timeout 2>/dev/null) == 0 ]] || say "note: imap_hibernate_timeout is not 0"
"$dovecot_bin" -F -c "$conf" >"$work/dovecot.stdout" 2>&1 &
dovecot_pid=$!
wait_listen "$dv_port" dovecot
kill -0 "$dovecot_pid" 2>/dev/null || die "dovecot exited at start"
say "Dovecot $dovecot_version running as PID $dovecot_pid on 127.0.0.1:$dv_port"

# --- measurement helpers
# smaps PID FIELD: the field (Rss, Pss) of smaps_rollup in kB.
smaps() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
dv_children() { ps --ppid "$dovecot_pid" -o pid=,comm= 2>/dev/null || true; }
# Pss (kB) summed over Dovecot's imap processes / over the whole Dovecot tree.
dv_imap_pss() { dv_children | awk '$2 == "imap" { print $1 }' | while read -r p; do smaps "$p" Pss; done | awk '{ s += $1 } END { print s + 0 }'; }
dv_imap_count() { dv_children | awk '$2 == "imap"' | wc -l; }
dv_tree_pss() { { smaps "$dovecot_pid" Pss; dv_children | while read -r p _; do smaps "$p" Pss; done; } | awk '{ s += $1 } END { print s + 0 }'; }
# CPU seconds: the process (gatehouse), or Dovecot's master with its reaped children
# plus its live children.
gh_cpu() { cpu_of "$gh_pid"; }
dv_cpu() {
	{
		awk '{ print $14 + $15 + $16 + $17 }' "/proc/$dovecot_pid/stat"
		dv_children | while read -r p _; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true; done
	} | awk -v t="$clk_tck" '{ s += $1 } END { printf "%.2f", s / t }'
}
srv_cpu() { if [[ $1 == gatehouse ]]; then gh_cpu; else dv_cpu; fi; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; } # field LINE KEY

declare -A R # R[server.key]

# run_load SERVER PORT TEST [args]: the load tool in the background (so that a signal to
# this script is handled at once); its RESULT lines on stdout.
run_load() {
	local srv=$1 port=$2 t=$3
	shift 3
	"$load" -addr "127.0.0.1:$port" -user "$user" -pass-file "$work/password" -test "$t" "$@" >"$work/$srv-$t.out" 2>"$work/$srv-$t.err" &
	client_pid=$!
	wait "$client_pid" || { cat "$work/$srv-$t.err" >&2; die "$t against $srv failed"; }
	client_pid=
	grep '^RESULT' "$work/$srv-$t.out" | sed "s/^/  $srv: /" >&2
}

bench_server() { # gatehouse|dovecot
	local srv=$1 port user cpu0 cpu1 line
	if [[ $srv == gatehouse ]]; then port=$gh_port user=bench@example.org; else port=$dv_port user=bench; fi
	say "== $srv: APPEND $total, FETCH/SEARCH/STORE x$reps, $conns idle connections"

	if [[ $srv == gatehouse ]]; then cpu0=$(gh_cpu); else cpu0=$(dv_cpu); fi
	run_load "$srv" "$port" append -n "$total"
	if [[ $srv == gatehouse ]]; then cpu1=$(gh_cpu); else cpu1=$(dv_cpu); fi
	line=$(grep '^RESULT' "$work/$srv-append.out")
	R[$srv.append]=$(field "$line" rate)
	R[$srv.append_cpu]=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$total" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
	if [[ $srv == dovecot ]]; then
		local files
		files=$(find "$work/mail/bench/Maildir/new" "$work/mail/bench/Maildir/cur" -type f | wc -l)
		[[ $files -eq $total ]] || die "Dovecot's maildir holds $files message files, want $total"
	fi

	run_load "$srv" "$port" fetch -reps "$reps"
	line=$(grep '^RESULT' "$work/$srv-fetch.out")
	R[$srv.fetch]=$(field "$line" median) R[$srv.select]=$(field "$line" select_seconds)
	R[$srv.fetch_arrived]=$(field "$line" arrived_median)
	# Server CPU per FETCH, without the client: a session with 1 FETCH and one with
	# 1 + CPU_REPS; the difference over CPU_REPS leaves out LOGIN and SELECT.
	local c0 c1 c2
	c0=$(srv_cpu "$srv")
	run_load "$srv" "$port" fetch -reps 1
	c1=$(srv_cpu "$srv")
	run_load "$srv" "$port" fetch -reps $((1 + cpu_reps))
	c2=$(srv_cpu "$srv")
	# (each -reps k invocation makes 2k FETCHes: k timed with the client parsing as
	# the answer arrives, k with the answer held until its tagged OK)
	R[$srv.fetch_cpu]=$(awk -v a="$c0" -v b="$c1" -v c="$c2" -v n="$cpu_reps" 'BEGIN { printf "%.1f", ((c - b) - (b - a)) * 1000 / (2 * n) }')

	# Thunderbird's header FETCH for its message list (not an issue target).
	run_load "$srv" "$port" headers -reps "$reps"
	line=$(grep '^RESULT' "$work/$srv-headers.out")
	R[$srv.headers]=$(field "$line" median) R[$srv.headers_arrived]=$(field "$line" arrived_median)

	run_load "$srv" "$port" search -reps "$reps"
	local k
	for k in subject from body unseen; do
		line=$(grep "^RESULT test=search_$k " "$work/$srv-search.out")
		R[$srv.search_$k]=$(field "$line" median) R[$srv.hits_$k]=$(field "$line" hits)
	done

	run_load "$srv" "$port" store -reps "$reps"
	line=$(grep '^RESULT' "$work/$srv-store.out")
	R[$srv.store]=$(field "$line" median)

	# Idle connections. Settle a moment before each reading.
	sleep 2
	local rss0 pss0 rss1 pss1 tree0 tree1 imap_pss nimap
	if [[ $srv == gatehouse ]]; then
		rss0=$(smaps "$gh_pid" Rss) pss0=$(smaps "$gh_pid" Pss)
	else
		tree0=$(dv_tree_pss)
	fi
	local half=$((conns / 2)) mid=0
	"$load" -addr "127.0.0.1:$port" -user "$user" -pass-file "$work/password" -test idle -conns "$conns" -par "$par" -step "$half" >"$work/$srv-idle.out" 2>"$work/$srv-idle.err" &
	client_pid=$!
	local want=STEP
	for i in $(seq 2400); do
		if grep -q "^$want" "$work/$srv-idle.out" 2>/dev/null; then
			[[ $want == READY ]] && break
			# Half of them are up: one reading 3 s later, for the marginal cost.
			sleep 3
			if [[ $srv == gatehouse ]]; then mid=$(smaps "$gh_pid" Pss); else mid=$(dv_imap_pss); fi
			kill -USR1 "$client_pid"
			want=READY
		fi
		kill -0 "$client_pid" 2>/dev/null || { cat "$work/$srv-idle.err" >&2; die "idle load against $srv failed"; }
		((i < 2400)) || die "$conns idle connections to $srv not ready within 240 s"
		sleep 0.1
	done
	# Readings 3 s after the last connection is up, then every 5 s until SETTLE s: a Go
	# process gives freed heap back to the kernel only gradually (Gatehouse's argon2id
	# LOGINs allocate 19 MiB each), so the last reading is the figure, the first is shown.
	local t=0 first_note=
	sleep 3
	t=3
	while :; do
		if [[ $srv == gatehouse ]]; then
			rss1=$(smaps "$gh_pid" Rss) pss1=$(smaps "$gh_pid" Pss)
			R[$srv.idle_rss]=$(awk -v a="$rss0" -v b="$rss1" -v n="$conns" 'BEGIN { printf "%.1f", (b - a) / n }')
			R[$srv.idle_pss]=$(awk -v a="$pss0" -v b="$pss1" -v n="$conns" 'BEGIN { printf "%.1f", (b - a) / n }')
			R[$srv.idle_detail]="Rss $((rss0 / 1024)) -> $((rss1 / 1024)) MiB, Pss $((pss0 / 1024)) -> $((pss1 / 1024)) MiB"
		else
			tree1=$(dv_tree_pss) imap_pss=$(dv_imap_pss) nimap=$(dv_imap_count)
			R[$srv.idle_pss]=$(awk -v a="$imap_pss" -v n="$conns" 'BEGIN { printf "%.1f", a / n }')
			R[$srv.idle_tree]=$(awk -v a="$tree0" -v b="$tree1" -v n="$conns" 'BEGIN { printf "%.1f", (b - a) / n }')
			R[$srv.idle_detail]="$nimap imap processes, their Pss sum $((imap_pss / 1024)) MiB; whole tree Pss $((tree0 / 1024)) -> $((tree1 / 1024)) MiB"
		fi
		say "  $srv: idle +${t}s: ${R[$srv.idle_pss]} KB/conn Pss (${R[$srv.idle_detail]})"
		[[ -n $first_note ]] || first_note="${R[$srv.idle_pss]} KB/conn at +${t}s"
		((t + 5 <= settle)) || break
		sleep 5
		t=$((t + 5))
	done
	R[$srv.idle_first]=$first_note R[$srv.idle_t]=$t
	# Marginal: from the reading with half of the connections up to the last one.
	if [[ $srv == gatehouse ]]; then
		R[$srv.idle_marg]=$(awk -v a="$mid" -v b="$pss1" -v n=$((conns - half)) 'BEGIN { printf "%.1f", (b - a) / n }')
	else
		R[$srv.idle_marg]=$(awk -v a="$mid" -v b="$imap_pss" -v n=$((conns - half)) 'BEGIN { printf "%.1f", (b - a) / n }')
	fi
	kill -TERM "$client_pid"
	wait "$client_pid" || { cat "$work/$srv-idle.err" >&2; die "idle load against $srv failed at the end"; }
	client_pid=
	grep -E '^(READY|RESULT)' "$work/$srv-idle.out" | sed "s/^/  $srv: /" >&2

	# The big mailbox: fill up to BIG messages over BIG_PAR connections, then FETCH again.
	if ((big > total)); then
		local big_par=$big_par_gh
		R[$srv.big_par]=$big_par
		if [[ $srv == gatehouse ]]; then
			say "  $srv: populating to $big messages with APPEND over $big_par connections ..."
			run_load "$srv" "$port" populate -n $((big - total)) -first "$total" -par "$big_par"
			line=$(grep '^RESULT' "$work/$srv-populate.out")
			R[$srv.populate]=$(field "$line" rate)
		else
			# Not over APPEND: with mail_fsync=always Dovecot's APPEND slows down as the
			# maildir grows (about 80 msgs/s at 35,000 messages, 38 at 39,000 here), so
			# 100,000 would take the best part of an hour. The files go straight into
			# cur/, as an LDA would deliver them; Dovecot indexes them at the next SELECT.
			say "  $srv: populating to $big messages by writing maildir files ..."
			run_load "$srv" "$port" maildir -n $((big - total)) -first "$total" -dir "$work/mail/bench/Maildir"
			chown -R "$mail_uid:$mail_gid" "$work/mail/bench/Maildir"
			R[$srv.populate]=maildir-files
		fi
		mv "$work/$srv-fetch.out" "$work/$srv-fetch-small.out"
		# The first SELECT and FETCH after the fill, untimed for the median: Dovecot reads
		# the new files into its index and cache here.
		run_load "$srv" "$port" fetch -reps 1
		line=$(grep '^RESULT' "$work/$srv-fetch.out")
		R[$srv.bigcold]=$(field "$line" median) R[$srv.bigcoldselect]=$(field "$line" select_seconds)
		mv "$work/$srv-fetch.out" "$work/$srv-fetch-cold.out"
		local prof_pid=
		if [[ $srv == gatehouse && -n $debug_listen ]]; then
			# PROFILE=1: a CPU profile of the server over the big FETCHes.
			local dbg=${debug_listen#*\"}
			curl -s -o "$work/gatehouse-bigfetch.pprof" "http://${dbg%\"}/debug/pprof/profile?seconds=${PROFILE_SECONDS:-6}" &
			prof_pid=$!
		fi
		run_load "$srv" "$port" fetch -reps "$big_reps"
		if [[ -n $prof_pid ]]; then
			wait "$prof_pid" || true
			cp "$work/gatehouse-bigfetch.pprof" "${PROFILE_OUT:-/tmp/gatehouse-bigfetch.pprof}" && say "  CPU profile of the big FETCH: ${PROFILE_OUT:-/tmp/gatehouse-bigfetch.pprof}"
		fi
		line=$(grep '^RESULT' "$work/$srv-fetch.out")
		R[$srv.bigfetch]=$(field "$line" median) R[$srv.bigselect]=$(field "$line" select_seconds)
		R[$srv.bigfetch_arrived]=$(field "$line" arrived_median)
	fi
}

if [[ $first == gatehouse ]]; then order=(gatehouse dovecot); else order=(dovecot gatehouse); fi
for s in "${order[@]}"; do bench_server "$s"; done
# IDLE push latency, Gatehouse only (the issue's target is absolute; the private Dovecot
# has no MX here): PUSH_N messages over Gatehouse's SMTP, one at a time, each awaited
# as EXISTS by an IDLEing client. Last, so the other figures' mailbox is unchanged.
push_n=${PUSH_N:-500}
if ((push_n > 0)); then
	gh_smtp=$(sed -n 's/.*msg=listening listener=smtp addr=\([^ ]*\).*/\1/p' "$gh_dir/serve.log" | head -n 1)
	[[ -n $gh_smtp ]] || die "no smtp listener in the Gatehouse log"
	user=bench@example.org run_load gatehouse "$gh_port" push -smtp "$gh_smtp" -n "$push_n" -first 1000000
	line=$(grep '^RESULT' "$work/gatehouse-push.out")
	for k in from_mail_p50 from_mail_p99 from_mail_max from_ack_p50 from_ack_p99 from_ack_max; do
		R[push.$k]=$(field "$line" "$k")
	done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
grep -iE 'error|fatal|panic' "$work/dovecot.log" >&2 && say "(errors in the Dovecot log, above)"
gh_warn=$(grep -iE 'level=(ERROR|WARN)|panic' "$gh_dir/serve.log" | head -n 20 || true)
[[ -z $gh_warn ]] || say "$gh_warn" "(errors or warnings in the Gatehouse log, above)"

# --- report
row() { # label gatehouse dovecot format better(higher|lower)
	awk -v l="$1" -v a="$2" -v b="$3" -v f="$4" -v d="$5" 'BEGIN {
		r = (b > 0) ? sprintf("%.2f", a / b) : "-"
		printf "| %-50s | %12s | %12s | %6s | %-6s |\n", l, sprintf(f, a), sprintf(f, b), r, d }'
}
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
cat <<EOT

IMAP, Gatehouse vs Dovecot $dovecot_version, same machine, same run (order: ${order[*]})
ratio = Gatehouse / Dovecot; "better" says which direction is good for Gatehouse

| measure                                            |    Gatehouse |      Dovecot |  ratio | better |
|----------------------------------------------------|-------------:|-------------:|-------:|--------|
$(row "APPEND $total x 1-3 KB, 1 conn, durable (msgs/s)" "${R[gatehouse.append]}" "${R[dovecot.append]}" "%.0f" higher)
$(row "  server CPU per APPEND (us)" "${R[gatehouse.append_cpu]}" "${R[dovecot.append_cpu]}" "%.0f" lower)
$(row "SELECT INBOX, $total msgs (ms)" "$(ms "${R[gatehouse.select]}")" "$(ms "${R[dovecot.select]}")" "%.2f" lower)
$(row "UID FETCH 1:* (FLAGS ENVELOPE), $total (ms, med)" "$(ms "${R[gatehouse.fetch]}")" "$(ms "${R[dovecot.fetch]}")" "%.2f" lower)
$(row "  answer complete (tagged OK), $total (ms, med)" "$(ms "${R[gatehouse.fetch_arrived]}")" "$(ms "${R[dovecot.fetch_arrived]}")" "%.2f" lower)
$(row "  server CPU per FETCH, $total (ms, mean of $cpu_reps)" "${R[gatehouse.fetch_cpu]}" "${R[dovecot.fetch_cpu]}" "%.1f" lower)
$(row "Thunderbird's header FETCH, $total (ms, med)" "$(ms "${R[gatehouse.headers]}")" "$(ms "${R[dovecot.headers]}")" "%.2f" lower)
$(row "  answer complete (tagged OK), $total (ms, med)" "$(ms "${R[gatehouse.headers_arrived]}")" "$(ms "${R[dovecot.headers_arrived]}")" "%.2f" lower)
$(row "UID SEARCH SUBJECT quarterly (ms, med)" "$(ms "${R[gatehouse.search_subject]}")" "$(ms "${R[dovecot.search_subject]}")" "%.2f" lower)
$(row "UID SEARCH FROM carol (ms, med)" "$(ms "${R[gatehouse.search_from]}")" "$(ms "${R[dovecot.search_from]}")" "%.2f" lower)
$(row "UID SEARCH BODY zebra (ms, med)" "$(ms "${R[gatehouse.search_body]}")" "$(ms "${R[dovecot.search_body]}")" "%.2f" lower)
$(row "UID SEARCH UNSEEN (ms, med)" "$(ms "${R[gatehouse.search_unseen]}")" "$(ms "${R[dovecot.search_unseen]}")" "%.2f" lower)
$(row "UID STORE 1:* +FLAGS (\\Seen), $total (ms, med)" "$(ms "${R[gatehouse.store]}")" "$(ms "${R[dovecot.store]}")" "%.2f" lower)
$(row "$conns idle selected conns: KB/conn (Pss)" "${R[gatehouse.idle_pss]}" "${R[dovecot.idle_pss]}" "%.1f" lower)
$(row "  marginal, conn $((conns / 2 + 1)) to $conns: KB/conn (Pss)" "${R[gatehouse.idle_marg]}" "${R[dovecot.idle_marg]}" "%.1f" lower)

$(if ((push_n > 0)); then
	echo "IDLE push, Gatehouse only, $push_n messages over SMTP one at a time, each awaited as EXISTS by an IDLEing client:"
	echo "  from MAIL FROM (includes the durable commit): p50 $(ms "${R[push.from_mail_p50]}") ms, p99 $(ms "${R[push.from_mail_p99]}") ms, max $(ms "${R[push.from_mail_max]}") ms"
	echo "  from the 250 after DATA: p50 $(ms "${R[push.from_ack_p50]}") ms, p99 $(ms "${R[push.from_ack_p99]}") ms, max $(ms "${R[push.from_ack_max]}") ms (target p99 <= 50 ms)"
fi)
Search hits (must match): subject ${R[gatehouse.hits_subject]}/${R[dovecot.hits_subject]}, from ${R[gatehouse.hits_from]}/${R[dovecot.hits_from]}, body ${R[gatehouse.hits_body]}/${R[dovecot.hits_body]}, unseen ${R[gatehouse.hits_unseen]}/${R[dovecot.hits_unseen]} (Gatehouse/Dovecot)
Idle memory ($conns conns set up $par at a time; readings at +${R[gatehouse.idle_t]}s / +${R[dovecot.idle_t]}s after the last one was up):
  Gatehouse: Pss delta ${R[gatehouse.idle_pss]} KB/conn, Rss delta ${R[gatehouse.idle_rss]} KB/conn (${R[gatehouse.idle_detail]}); first reading ${R[gatehouse.idle_first]}
  Dovecot: imap processes ${R[dovecot.idle_pss]} KB/conn, whole-tree Pss delta ${R[dovecot.idle_tree]} KB/conn (${R[dovecot.idle_detail]}); first reading ${R[dovecot.idle_first]}
  (Gatehouse's process grows by tens of MiB over the first logins whether or not the
  connections are kept: each LOGIN verifies an argon2id hash with m=19 MiB, and the Go
  heap keeps what that churn made it grow to. The marginal row, second half of the
  connections only, is the cost of holding one more selected, idling connection.)
$(if ((big > total)); then
	row "SELECT INBOX, $big msgs (ms)" "$(ms "${R[gatehouse.bigselect]}")" "$(ms "${R[dovecot.bigselect]}")" "%.2f" lower
	row "UID FETCH 1:* (FLAGS ENVELOPE), $big (ms, med of $big_reps)" "$(ms "${R[gatehouse.bigfetch]}")" "$(ms "${R[dovecot.bigfetch]}")" "%.2f" lower
	row "  answer complete (tagged OK), $big (ms, med)" "$(ms "${R[gatehouse.bigfetch_arrived]}")" "$(ms "${R[dovecot.bigfetch_arrived]}")" "%.2f" lower
	row "  first SELECT after the fill (ms)" "$(ms "${R[gatehouse.bigcoldselect]}")" "$(ms "${R[dovecot.bigcoldselect]}")" "%.2f" lower
	row "  first FETCH after the fill (ms)" "$(ms "${R[gatehouse.bigcold]}")" "$(ms "${R[dovecot.bigcold]}")" "%.2f" lower
	echo "Big mailbox filled by: Gatehouse APPEND over ${R[gatehouse.big_par]} conns at ${R[gatehouse.populate]} msgs/s; Dovecot maildir files written into cur/ (APPEND is far too slow there at this size)."
else
	echo "UID FETCH 1:* on a big mailbox: not run (BIG=100000 does it; populating over APPEND takes long)."
fi)

Machine: $(nproc) CPU(s), $cpu_model; $mem_total RAM; Linux $(uname -r); temp dir on ${fs}
Load average (1/5/15 min): $load_before before, $load_after after (the machine is shared)
Gatehouse: $gh_version; Go $(go version | awk '{print $3}'); Dovecot $dovecot_version (maildir, mail_fsync=always, no FTS plugin)
Timed repetitions: $reps per FETCH/SEARCH/STORE figure (median); one APPEND pass per server.
EOT
