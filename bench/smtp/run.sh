#!/usr/bin/env bash
# SMTP throughput, side by side, on the same machine in the same run:
#
#   1. Inbound: Postfix's smtp-source (-s 20 -m 5000 -l 4096: 20 parallel sessions, 5,000
#      messages of 4 KB, one message per connection) against Gatehouse's MX listener,
#      timed until the store holds all 5,000 (polled with `gatehouse user list` through
#      the control socket).
#   2. The same against a private Postfix (Debian's) delivering with virtual(8) into a
#      maildir, timed until all 5,000 files are in the maildir.
#   3. The ratio Gatehouse / Postfix. 1 and 2 alternate over ROUNDS rounds (default 3)
#      and the medians are compared, since a shared machine's load drifts. As a control,
#      the same load against smtp-sink, which stores nothing: the ceiling the client and
#      loopback allow at that moment.
#   4. Outbound: a fresh Gatehouse with [queue] smarthost pointing at Postfix's smtp-sink;
#      5,000 messages submitted over the submission port with AUTH (submit.py, 20
#      sessions) to a remote domain, timed from the first queued (first 250) to the last
#      one received by smtp-sink; peak RSS of the gatehouse process (VmHWM).
#
#   sudo bench/smtp/run.sh          (from anywhere in the checkout; needs root)
#
# Postfix comes from Debian (installed if missing), but the system service is never used:
# a private instance runs from its own config_directory, queue_directory and
# data_directory in a temp dir, listens on 127.0.0.1 only, and is stopped with
# `postfix -c DIR stop` at exit. Its durability is Postfix's default: cleanup(8) fsyncs
# the queue file before 250, virtual(8) fsyncs each maildir file before the rename.
#
# DNS: Gatehouse's MX checks SPF and DMARC of every inbound message (DNS TXT lookups
# before the 250; Postfix does none by default). By default (DNS=local) the whole run
# happens in a private mount namespace whose /etc/resolv.conf names nxdns.py, a
# loopback responder that answers NXDOMAIN at once: the cost of those lookups against a
# warm local caching resolver. DNS=system uses the machine's resolver as it is (then a
# slow or lossy resolver shows up directly in Gatehouse's inbound figure).
#
# Files: every round gets a fresh Gatehouse store and a fresh Postfix maildir (the last
# round's is renamed aside, nothing is deleted until the end). On ext4 the temp dir gets
# the "top of hierarchy" attribute (chattr +T), so that the allocator spreads the
# servers' trees over block groups of their own. This matters on ext4 without a journal
# (as on the machine in docs/benchmarks.md): creating a file there scans past every inode
# of its block group deleted in the last 30 s (fs/ext4/ialloc.c recently_deleted), so a
# server whose directory shares a group with files just deleted, by the other server, by
# an earlier round, or by an unrelated job in /tmp, pays for them at every create.
# Postfix still pays for its own queue files, which it deletes as it goes.
#
# Environment: TOTAL (default 5000) messages, SESSIONS (20) parallel sessions, SIZE
# (4096) bytes per message, ROUNDS (3) alternating inbound rounds, DNS (local|system),
# KEEP_TMP=1 to keep the temp dir (configs, logs, stores, maildir) for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/bench/lib.sh"
total=${TOTAL:-5000}
sessions=${SESSIONS:-20}
size=${SIZE:-4096}
dns_mode=${DNS:-local}
rounds=${ROUNDS:-3}
deadline_s=${DEADLINE:-900} # give up waiting for deliveries after this long
export PATH="$PATH:/usr/sbin:/sbin"
export PYTHONDONTWRITEBYTECODE=1


[[ $EUID -eq 0 ]] || die "run as root: it installs postfix if missing, runs a private Postfix and binds a DNS responder to port 53 on a loopback address"
command -v go >/dev/null || die "go not found in PATH"
command -v python3 >/dev/null || die "python3 not found in PATH"
[[ -f "$root/cmd/gatehouse/main.go" ]] || die "cannot find cmd/gatehouse under $root"
case $dns_mode in local | system) ;; *) die "DNS must be local or system, not $dns_mode" ;; esac
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not $rounds"

# A private mount namespace, so that only this run sees our resolv.conf.
if [[ $dns_mode == local && -z ${GATEHOUSE_SMTP_BENCH_NS:-} ]]; then
	command -v unshare >/dev/null || die "unshare (util-linux) not found; use DNS=system"
	exec env GATEHOUSE_SMTP_BENCH_NS=1 unshare --mount --propagation private -- "$BASH" "$here/run.sh" "$@"
fi

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null || ! command -v postfix >/dev/null; then
	say "installing postfix from Debian (for smtp-source, smtp-sink and the comparison; the system service is not used)"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
postfix_version=$(postconf -d -h mail_version)

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-smtp-bench.XXXXXX")
chmod 0755 "$work" # Postfix's unprivileged processes must reach in here
# Spread the servers' trees over fresh block groups (see "Files" above); only ext4 and
# a few others know the attribute, and nothing else depends on it.
topdir="not set"
if command -v chattr >/dev/null && chattr +T "$work" 2>/dev/null; then topdir="set"; fi

gh_pid= gh_dir= pf_conf= sink_pid= dns_pid= client_pid=
stop_gatehouse() {
	[[ -n $gh_pid ]] || return 0
	if kill -0 "$gh_pid" 2>/dev/null; then
		kill -TERM "$gh_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$gh_pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$gh_pid" 2>/dev/null && kill -KILL "$gh_pid" 2>/dev/null
	fi
	wait "$gh_pid" 2>/dev/null || true
	gh_pid=
}
stop_postfix() {
	[[ -n $pf_conf ]] || return 0
	postfix -c "$pf_conf" stop >/dev/null 2>&1 || true
	pf_conf=
}
cleanup() {
	local rc=$?
	stop_pid "$client_pid"
	if ((rc != 0)); then
		[[ -z $gh_dir ]] || log_tail "Gatehouse ($gh_dir)" "$gh_dir/serve.log"
		log_tail Postfix "$work/postfix/postfix.log"
	fi
	stop_gatehouse
	stop_postfix
	stop_pid "$sink_pid"
	stop_pid "$dns_pid"
	remove_work
	exit "$rc"
}
on_exit cleanup

now() { printf '%s\n' "$EPOCHREALTIME"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# --- the machine, before the load starts
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Model)/ {print $2; exit}' /proc/cpuinfo)
fs=$(df -PT "$work" 2>/dev/null | awk 'NR==2 && $2 != "-" {print $2 " on " $1 " (mounted at " $7 ")"}')
[[ -n $fs ]] || fs="$(stat -f -c %T "$work") (df -T could not tell)"
fs_dev=$(df -P "$work" 2>/dev/null | awk 'NR==2 {print $1}')
if [[ -r /sys/fs/ext4/${fs_dev##*/}/journal_task ]]; then
	if [[ $(cat "/sys/fs/ext4/${fs_dev##*/}/journal_task") == "<none>" ]]; then fs+=", no journal"; else fs+=", journaled"; fi
fi
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- DNS for this run
dns_count() { :; }
if [[ $dns_mode == local ]]; then
	dns_addr=127.53.0.1
	python3 "$here/nxdns.py" --addr "$dns_addr" --port 53 >"$work/nxdns.out" 2>"$work/nxdns.err" &
	dns_pid=$!
	for i in $(seq 50); do
		grep -q READY "$work/nxdns.out" 2>/dev/null && break
		kill -0 "$dns_pid" 2>/dev/null || { cat "$work/nxdns.err" >&2; die "nxdns.py exited at start"; }
		((i < 50)) || die "nxdns.py not ready within 5 s"
		sleep 0.1
	done
	printf 'nameserver %s\n' "$dns_addr" >"$work/resolv.conf"
	mount --bind "$work/resolv.conf" /etc/resolv.conf
	# The number of queries answered so far.
	dns_count() {
		local before
		before=$(grep -c '^COUNT' "$work/nxdns.out" || true)
		kill -USR1 "$dns_pid"
		for _ in $(seq 50); do
			(($(grep -c '^COUNT' "$work/nxdns.out" || true) > before)) && break
			sleep 0.02
		done
		grep '^COUNT' "$work/nxdns.out" | tail -n 1 | sed 's/.*queries=\([0-9]*\).*/\1/'
	}
	say "DNS: private resolv.conf naming nxdns.py on $dns_addr:53 (NXDOMAIN for everything)"
else
	say "DNS: the system resolver ($(awk '/^nameserver/ {printf "%s ", $2}' /etc/resolv.conf))"
fi

# --- Gatehouse
say "building gatehouse ..."
gh=$work/gatehouse
(cd "$root" && go build -o "$gh" ./cmd/gatehouse)
gh_version="$("$gh" version 2>/dev/null | head -n 1) ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"

# new_gatehouse DIR [extra config]: a config with every listener on a free loopback port.
new_gatehouse() {
	mkdir -p "$1"
	cat >"$1/gatehouse.toml" <<EOF
# Written by bench/smtp/run.sh.
hostname = "mx.example.org"
shutdown_grace = "5s"
[listen]
http = "127.0.0.1:0"
https = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
ldap = "127.0.0.1:0"
ldaps = "127.0.0.1:0"
${2:-}
EOF
}
ghc() { "$gh" "$@" --config "$gh_dir/gatehouse.toml" --data "$gh_dir/data"; }
start_gatehouse() { # DIR
	gh_dir=$1
	"$gh" serve --config "$gh_dir/gatehouse.toml" --data "$gh_dir/data" >"$gh_dir/serve.out" 2>"$gh_dir/serve.log" &
	gh_pid=$!
	for i in $(seq 300); do
		kill -0 "$gh_pid" 2>/dev/null || die "gatehouse serve exited at start"
		grep -q 'gatehouse is running' "$gh_dir/serve.log" 2>/dev/null && break
		((i < 300)) || die "gatehouse did not start within 30 s"
		sleep 0.1
	done
}
gh_port() { sed -n "s/.*msg=listening listener=$1 addr=[^ ]*:\([0-9]*\).*/\1/p" "$gh_dir/serve.log" | head -n 1; }
gh_messages() { ghc user list | awk '$1 == "bench@example.org" { print $(NF - 1) }'; }
gh_cpu() { cpu_of "$gh_pid"; }
gh_hwm() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$gh_pid/status"; }

echo "bench-$RANDOM$RANDOM$RANDOM" >"$work/password"
chmod 0600 "$work/password"

# === 1-3. Inbound, Gatehouse and Postfix in alternating rounds (odd rounds Gatehouse
# first, even rounds Postfix first), so that a change in the machine's load during the run
# weighs on both; each round into a fresh store / a fresh maildir. The figures reported
# are the medians over the rounds.

# Postfix: one private instance for every round.
pf=$work/postfix
pf_port=$(free_port)
mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$pf/mail/bench"/{tmp,new,cur}
chown postfix "$pf/data"
chown -R nobody:"$(id -gn nobody)" "$pf/mail"
cat >"$pf/etc/main.cf" <<EOF
# Private benchmark instance, written by bench/smtp/run.sh. Everything not set here is
# Postfix's default (so: fsync of the queue file before 250 and of each maildir file).
compatibility_level = 3.6
config_directory = $pf/etc
queue_directory = $pf/spool
data_directory = $pf/data
daemon_directory = $(postconf -d -h daemon_directory)
meta_directory = $(postconf -d -h meta_directory)
shlib_directory = $(postconf -d -h shlib_directory)
command_directory = $(postconf -d -h command_directory)
mail_owner = postfix
setgid_group = postdrop
maillog_file = $pf/postfix.log
maillog_file_prefixes = $pf
myhostname = mx.bench.test
mydomain = bench.test
myorigin = \$myhostname
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
biff = no
virtual_mailbox_domains = example.org
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = inline:{ bench@example.org=bench/ }
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 100
EOF
# The standard services, not chrooted, smtpd on 127.0.0.1 only.
cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$pf_port inet n - n - - smtpd
pickup     unix  n  -  n  60     1  pickup
cleanup    unix  n  -  n  -      0  cleanup
qmgr       unix  n  -  n  300    1  qmgr
rewrite    unix  -  -  n  -      -  trivial-rewrite
bounce     unix  -  -  n  -      0  bounce
defer      unix  -  -  n  -      0  bounce
trace      unix  -  -  n  -      0  bounce
verify     unix  -  -  n  -      1  verify
flush      unix  n  -  n  1000?  0  flush
proxymap   unix  -  -  n  -      -  proxymap
proxywrite unix  -  -  n  -      1  proxymap
smtp       unix  -  -  n  -      -  smtp
relay      unix  -  -  n  -      -  smtp
showq      unix  n  -  n  -      -  showq
error      unix  -  -  n  -      -  error
retry      unix  -  -  n  -      -  error
discard    unix  -  -  n  -      -  discard
local      unix  -  n  n  -      -  local
virtual    unix  -  n  n  -      -  virtual
anvil      unix  -  -  n  -      1  anvil
scache     unix  -  -  n  -      1  scache
postlog    unix-dgram n - n - 1 postlogd
EOF
postfix -c "$pf/etc" check >"$pf/check.out" 2>&1 || { cat "$pf/check.out" "$pf/postfix.log" >&2 2>/dev/null; die "postfix check failed"; }
pf_conf=$pf/etc
postfix -c "$pf/etc" start >"$pf/start.out" 2>&1 || { cat "$pf/start.out" >&2; die "postfix start failed"; }
wait_listen "$pf_port" "Postfix"
maildir_count() { find "$pf/mail/bench/new" "$pf/mail/bench/cur" -type f | wc -l; }
# CPU seconds used so far by the Postfix instance: the master and its live children
# (smtpd, cleanup, qmgr, virtual... all direct children of master), plus what children
# that have already exited used (the master's cutime and cstime).
pf_cpu() {
	local master
	master=$(tr -d ' ' <"$pf/spool/pid/master.pid")
	{
		awk '{ print $14 + $15 + $16 + $17 }' "/proc/$master/stat"
		for c in $(ps --ppid "$master" -o pid=); do awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true; done
	} | awk -v t="$clk_tck" '{ s += $1 } END { printf "%.2f", s / t }'
}

declare -a gh_accept gh_secs gh_rate gh_cpu_r gh_hwm_r pf_accept pf_secs pf_rate pf_cpu_r
gh_dns_total=0 pf_dns_total=0 gh_errors_total=0 gh_stored_min=$total pf_stored_min=$total

inbound_gatehouse() { # round
	local r=$1 t0 t1 t2 n d0 d1
	say "round $r: Gatehouse inbound, smtp-source -s $sessions -m $total -l $size ..."
	new_gatehouse "$work/gh-in-$r"
	gh_dir=$work/gh-in-$r
	ghc user add bench@example.org --password-stdin <"$work/password" >"$gh_dir/useradd.out"
	start_gatehouse "$gh_dir"
	local port
	port=$(gh_port smtp)
	[[ -n $port ]] || die "no smtp listener in the Gatehouse log"
	d0=$(dns_count)
	t0=$(now)
	smtp-source -s "$sessions" -m "$total" -l "$size" -f sender@example.net -t bench@example.org "127.0.0.1:$port" \
		>"$work/source-gh-$r.out" 2>&1 &
	client_pid=$!
	wait "$client_pid" || { cat "$work/source-gh-$r.out" >&2; die "smtp-source against Gatehouse failed"; }
	client_pid=
	t1=$(now)
	while :; do
		n=$(gh_messages)
		((n >= total)) && break
		(($(calc "$(now) - $t0" 0) < deadline_s)) || die "Gatehouse store holds $n of $total messages after ${deadline_s} s"
		sleep 0.1
	done
	t2=$(now)
	d1=$(dns_count)
	gh_accept[r]=$(calc "$t1 - $t0" 3)
	gh_secs[r]=$(calc "$t2 - $t0" 3)
	gh_rate[r]=$(calc "$total / ($t2 - $t0)" 0)
	gh_cpu_r[r]=$(gh_cpu)
	gh_hwm_r[r]=$(gh_hwm)
	((n < gh_stored_min)) && gh_stored_min=$n
	gh_errors_total=$((gh_errors_total + $(grep -c 'level=ERROR' "$gh_dir/serve.log" || true)))
	[[ $dns_mode == local ]] && gh_dns_total=$((gh_dns_total + d1 - d0))
	say "  $total in ${gh_secs[r]} s (all 250s after ${gh_accept[r]} s): ${gh_rate[r]} msgs/s; store holds $n"
	stop_gatehouse
}

inbound_postfix() { # round
	local r=$1 t0 t1 t2 n d0 d1 c0
	say "round $r: Postfix $postfix_version inbound, smtp-source -s $sessions -m $total -l $size ..."
	# A fresh maildir, as Gatehouse gets a fresh store: the last round's is renamed aside
	# rather than emptied, because 5,000 files deleted just before the round would tax
	# every create in that directory's block group (see "Files" above).
	if [[ -n $(find "$pf/mail/bench/new" "$pf/mail/bench/cur" -type f -print -quit) ]]; then
		mv "$pf/mail/bench" "$pf/mail/bench.before-$r"
		mkdir -p "$pf/mail/bench"/{tmp,new,cur}
		chown -R nobody:"$(id -gn nobody)" "$pf/mail/bench"
	fi
	d0=$(dns_count)
	c0=$(pf_cpu)
	t0=$(now)
	smtp-source -s "$sessions" -m "$total" -l "$size" -f sender@example.net -t bench@example.org "127.0.0.1:$pf_port" \
		>"$work/source-pf-$r.out" 2>&1 &
	client_pid=$!
	wait "$client_pid" || { cat "$work/source-pf-$r.out" >&2; die "smtp-source against Postfix failed"; }
	client_pid=
	t1=$(now)
	while :; do
		n=$(maildir_count)
		((n >= total)) && break
		(($(calc "$(now) - $t0" 0) < deadline_s)) || die "the maildir holds $n of $total messages after ${deadline_s} s"
		sleep 0.1
	done
	t2=$(now)
	d1=$(dns_count)
	pf_accept[r]=$(calc "$t1 - $t0" 3)
	pf_secs[r]=$(calc "$t2 - $t0" 3)
	pf_rate[r]=$(calc "$total / ($t2 - $t0)" 0)
	pf_cpu_r[r]=$(calc "$(pf_cpu) - $c0" 2)
	((n < pf_stored_min)) && pf_stored_min=$n
	[[ $dns_mode == local ]] && pf_dns_total=$((pf_dns_total + d1 - d0))
	say "  $total in ${pf_secs[r]} s (all 250s after ${pf_accept[r]} s): ${pf_rate[r]} msgs/s; maildir holds $n"
}

median() { # printf-format values...
	local fmt=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v f="$fmt" '{ v[NR] = $1 } END { printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then
		inbound_gatehouse "$r"
		inbound_postfix "$r"
	else
		inbound_postfix "$r"
		inbound_gatehouse "$r"
	fi
done
sleep 0.5 # let the log catch up
pf_sent=$(grep -c 'status=sent' "$pf/postfix.log" || true)
pf_rejects=$(grep -cE 'NOQUEUE: reject|status=(bounced|deferred)' "$pf/postfix.log" || true)
stop_postfix

gh_in_rate=$(median %.0f "${gh_rate[@]:1}")
pf_in_rate=$(median %.0f "${pf_rate[@]:1}")
gh_in_secs=$(median %.3f "${gh_secs[@]:1}")
pf_in_secs=$(median %.3f "${pf_secs[@]:1}")
gh_in_accept=$(median %.3f "${gh_accept[@]:1}")
pf_in_accept=$(median %.3f "${pf_accept[@]:1}")
gh_in_cpu=$(median %.2f "${gh_cpu_r[@]:1}")
pf_in_cpu=$(median %.2f "${pf_cpu_r[@]:1}")
gh_in_hwm=$(median %.0f "${gh_hwm_r[@]:1}")
gh_in_dns= pf_in_dns=
if [[ $dns_mode == local ]]; then
	gh_in_dns=$(calc "$gh_dns_total / ($total * $rounds)" 1)
	pf_in_dns=$(calc "$pf_dns_total / ($total * $rounds)" 1)
fi
ratio=$(calc "$gh_in_rate / $pf_in_rate" 2)
round_ratios=
declare -a round_ratio
for ((r = 1; r <= rounds; r++)); do
	round_ratio[r]=$(calc "${gh_rate[r]} / ${pf_rate[r]}" 2)
	round_ratios+="${round_ratios:+, }${round_ratio[r]}"
done
# Paired within each round (same moment, same load), then the median over the rounds.
paired_ratio=$(median %.2f "${round_ratio[@]:1}")
cpu_ratio=$(calc "$pf_in_cpu / $gh_in_cpu" 2)

# === 4. Outbound from Gatehouse's queue to smtp-sink
say "Gatehouse outbound: $total submitted messages to smtp-sink via [queue] smarthost ..."
sink_port=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$sink_port" 1000 >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
wait_listen "$sink_port" "smtp-sink"
sink_count() { tr '\r' '\n' <"$work/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1; }

# The ceiling of the inbound figures: the same smtp-source load against smtp-sink, which
# stores nothing (what the client, loopback and connection setup allow on this machine now).
say "control: smtp-source -s $sessions -m $total -l $size against smtp-sink (stores nothing) ..."
t0=$(now)
smtp-source -s "$sessions" -m "$total" -l "$size" -f sender@example.net -t bench@example.org "127.0.0.1:$sink_port" \
	>"$work/source-sink.out" 2>&1 &
client_pid=$!
wait "$client_pid" || { cat "$work/source-sink.out" >&2; die "smtp-source against smtp-sink failed"; }
client_pid=
t1=$(now)
ctl_secs=$(calc "$t1 - $t0" 3)
ctl_rate=$(calc "$total / ($t1 - $t0)" 0)
say "  $total in ${ctl_secs} s: $ctl_rate msgs/s"
sink_base=$(sink_count)
sink_base=${sink_base:-0}
new_gatehouse "$work/gh-out" "[queue]
smarthost = \"127.0.0.1:$sink_port\""
gh_dir=$work/gh-out
ghc user add bench@example.org --password-stdin <"$work/password" >"$gh_dir/useradd.out"
start_gatehouse "$work/gh-out"
gh_sub=$(gh_port submission)
[[ -n $gh_sub ]] || die "no submission listener in the Gatehouse log"
queue_concurrency=$(sed -n 's/^ *concurrency *= *\([0-9]*\).*/\1/p' "$gh_dir/gatehouse.toml")
queue_concurrency=${queue_concurrency:-8 (default)}
t0=$(now)
python3 "$here/submit.py" --port "$gh_sub" --user bench@example.org --password-file "$work/password" \
	--rcpt rcpt@sink.test --total "$total" --sessions "$sessions" --size "$size" >"$work/submit.out" 2>"$work/submit.err" &
client_pid=$!
t_sink=
while :; do
	s=$(sink_count)
	s=$((${s:-0} - sink_base))
	if ((s >= total)); then
		t_sink=$(now)
		break
	fi
	if [[ -n $client_pid ]] && ! kill -0 "$client_pid" 2>/dev/null; then
		wait "$client_pid" || { cat "$work/submit.err" "$work/submit.out" >&2; die "submission failed"; }
		client_pid=
	fi
	(($(calc "$(now) - $t0" 0) < deadline_s)) || die "smtp-sink got $s of $total messages after ${deadline_s} s"
	sleep 0.05
done
if [[ -n $client_pid ]]; then
	wait "$client_pid" || { cat "$work/submit.err" "$work/submit.out" >&2; die "submission failed"; }
	client_pid=
fi
line=$(grep '^RESULT ' "$work/submit.out") || die "no RESULT line from submit.py"
sub_first=$(sed -n 's/.* first=\([0-9.]*\).*/\1/p' <<<"$line")
sub_last=$(sed -n 's/.* last=\([0-9.]*\).*/\1/p' <<<"$line")
# The queue has recorded every delivery: `queue list` shows only its header line.
while :; do
	q=$(($(ghc queue list | wc -l) - 1))
	((q <= 0)) && break
	(($(calc "$(now) - $t0" 0) < deadline_s)) || die "$q recipients still queued after ${deadline_s} s"
	sleep 0.1
done
t_drained=$(now)
out_submit_secs=$(calc "$sub_last - $t0" 3)
out_submit_rate=$(calc "$total / ($sub_last - $t0)" 0)
out_secs=$(calc "$t_sink - $sub_first" 3)
out_rate=$(calc "$total / ($t_sink - $sub_first)" 0)
out_drained=$(calc "$t_drained - $sub_first" 3)
out_hwm=$(gh_hwm)
out_cpu=$(gh_cpu)
out_delivered=$(grep -c 'msg=delivered' "$gh_dir/serve.log" || true)
out_deferred=$(grep -c 'msg=deferred' "$gh_dir/serve.log" || true)
out_errors=$(grep -c 'level=ERROR' "$gh_dir/serve.log" || true)
say "  $total submitted in ${out_submit_secs} s; last received by smtp-sink ${out_secs} s after the first was queued: $out_rate msgs/s; peak RSS ${out_hwm} MiB"
stop_gatehouse
stop_pid "$sink_pid"
sink_pid=
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report
note=
((total == 5000 && sessions == 20 && size == 4096)) || note="
NOT THE STANDARD RUN: TOTAL=$total SESSIONS=$sessions SIZE=$size (standard: 5000, 20, 4096)."
dns_desc="local NXDOMAIN responder (nxdns.py), private resolv.conf"
[[ $dns_mode == system ]] && dns_desc="the system resolver"
cat <<EOF

SMTP throughput, Gatehouse $gh_version vs Postfix $postfix_version${note}

Inbound: smtp-source -s $sessions -m $total -l $size (one message per connection), timed from start
until every message is in the mailbox (Gatehouse: store's message count; Postfix: maildir files);
$rounds alternating rounds, medians

| server                                       | all 250s (s) | all delivered (s) |  msgs/s | server CPU (s) | CPU ms/msg |
|----------------------------------------------|-------------:|------------------:|--------:|---------------:|-----------:|
$(printf '| %-44s | %12s | %17s | %7s | %14s | %10s |' "Gatehouse MX -> store" "$gh_in_accept" "$gh_in_secs" "$gh_in_rate" "$gh_in_cpu" "$(calc "$gh_in_cpu * 1000 / $total" 2)")
$(printf '| %-44s | %12s | %17s | %7s | %14s | %10s |' "Postfix $postfix_version smtpd -> virtual -> maildir" "$pf_in_accept" "$pf_in_secs" "$pf_in_rate" "$pf_in_cpu" "$(calc "$pf_in_cpu * 1000 / $total" 2)")
$(printf '| %-44s | %12s | %17s | %7s | %14s | %10s |' "(control: smtp-sink, stores nothing)" "$ctl_secs" "-" "$ctl_rate" "-" "-")

Ratio Gatehouse / Postfix: ${ratio}x from the medians above; ${paired_ratio}x as the median of the
per-round ratios ($round_ratios) (target >= 1.5x). Postfix used ${cpu_ratio}x Gatehouse's server CPU.
$(for ((r = 1; r <= rounds; r++)); do
	order="Gatehouse first"
	((r % 2)) || order="Postfix first"
	printf 'Round %d (%s): Gatehouse %s msgs/s (%s s, CPU %s s), Postfix %s msgs/s (%s s, CPU %s s)\n' "$r" "$order" \
		"${gh_rate[r]}" "${gh_secs[r]}" "${gh_cpu_r[r]}" "${pf_rate[r]}" "${pf_secs[r]}" "${pf_cpu_r[r]}"
done)
Server CPU: user+system seconds of the gatehouse process, of the Postfix master and all its children
(smtpd, cleanup, trivial-rewrite, qmgr, virtual...); the client's CPU is not counted on either side.
Gatehouse: every store held >= $gh_stored_min, $gh_errors_total ERROR log lines; per round (median) peak RSS ${gh_in_hwm} MiB${gh_in_dns:+; DNS queries per message $gh_in_dns}
Postfix: maildir held >= $pf_stored_min each round, log: $pf_sent status=sent, $pf_rejects rejects/bounces/deferrals${pf_in_dns:+; DNS queries per message $pf_in_dns}

Outbound: $total messages of $size bytes submitted (submission port, AUTH PLAIN on loopback,
$sessions sessions) to rcpt@sink.test, relayed by the queue ([queue] smarthost, concurrency
$queue_concurrency, DKIM-signed) to smtp-sink on 127.0.0.1

| all submitted (s) | submit msgs/s | first queued -> last at sink (s) | msgs/s | queue empty (s) | peak RSS (VmHWM) |
|------------------:|--------------:|---------------------------------:|-------:|----------------:|-----------------:|
$(printf '| %17s | %13s | %32s | %6s | %15s | %12s MiB |' "$out_submit_secs" "$out_submit_rate" "$out_secs" "$out_rate" "$out_drained" "$out_hwm")

Gatehouse: $out_delivered delivered, $out_deferred deferred, $out_errors ERROR log lines, process CPU ${out_cpu} s

Machine: $(nproc) CPU(s), $cpu_model; $mem_total RAM; Linux $(uname -r); temp dir on ${fs}
Load average (1/5/15 min): $load_before before, $load_after after
Temp dir's ext4 top-of-hierarchy attribute (chattr +T): $topdir
Go: $(go version | awk '{print $3}'); Python: $(python3 -c 'import platform; print(platform.python_version())'); DNS: $dns_desc
EOF
