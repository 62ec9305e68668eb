#!/usr/bin/env bash
# Durable delivery of 10,000 distinct 4 KB messages into one folder, 1 and 16 senders:
# Gatehouse's store (BenchmarkDurableDelivery in bench/store_test.go) side by side with
# Dovecot's IMAP APPEND with mail_fsync=always, on the same machine in the same run.
#
#   sudo bench/dovecot/run.sh          (from anywhere in the checkout; needs root)
#
# Dovecot comes from Debian (dovecot-imapd, installed if missing), but the system service
# is not used: a private instance runs from a self-contained config in a temp dir,
# listening on 127.0.0.1 only, and is stopped by its PID at exit. The APPEND client is
# Python's imaplib (append.py). Both sides write under the same temp dir, so to the same
# filesystem. Environment: TOTAL (default 10000) messages per run, KEEP_TMP=1 to keep the
# temp dir (config, log, maildirs) for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/bench/lib.sh"
total=${TOTAL:-10000}
export PATH="$PATH:/usr/sbin:/sbin"
export PYTHONDONTWRITEBYTECODE=1


[[ $EUID -eq 0 ]] || die "run as root: it installs dovecot-imapd if missing and starts a private Dovecot that switches to an unprivileged mail uid"
command -v go >/dev/null || die "go not found in PATH"
[[ -f "$root/bench/store_test.go" ]] || die "cannot find bench/store_test.go under $root"

need_pkgs=()
command -v dovecot >/dev/null || need_pkgs+=(dovecot-imapd)
python3 -c 'import imaplib' 2>/dev/null || need_pkgs+=(python3) # python3-minimal lacks imaplib
if ((${#need_pkgs[@]})); then
	say "installing ${need_pkgs[*]} from Debian (the system dovecot service is not used)"
	apt-get update -qq
	# policy-rc.d or not, we never rely on the packaged service being up or down.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
	say "(on a systemd machine the package also starts the system dovecot service; run.sh leaves it alone)"
fi
dovecot_bin=$(command -v dovecot)
dovecot_version=$("$dovecot_bin" --version | awk '{print $1}')
IFS=. read -r dv_major dv_minor _ <<<"$dovecot_version"
((dv_major == 2 && dv_minor >= 3 || dv_major > 2)) || die "Dovecot $dovecot_version is too old (need 2.3 or later)"

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-dovecot-bench.XXXXXX")
chmod 0755 "$work" # Dovecot's auth and mail processes run as other users and must reach in here
dovecot_pid= client_pid=
cleanup() {
	local rc=$?
	[[ -n $client_pid ]] && kill -TERM "$client_pid" 2>/dev/null
	if [[ -n $dovecot_pid ]] && kill -0 "$dovecot_pid" 2>/dev/null; then
		kill -TERM "$dovecot_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$dovecot_pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$dovecot_pid" 2>/dev/null && kill -KILL "$dovecot_pid" 2>/dev/null
		wait "$dovecot_pid" 2>/dev/null || true
	fi
	((rc == 0)) || log_tail Dovecot "$work/dovecot.log"
	remove_work
	exit "$rc"
}
on_exit cleanup

# --- the machine, before the load starts
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Model)/ {print $2; exit}' /proc/cpuinfo)
fs=$(df -PT "$work" 2>/dev/null | awk 'NR==2 && $2 != "-" {print $2 " on " $1 " (mounted at " $7 ")"}')
[[ -n $fs ]] || fs="$(stat -f -c %T "$work") (df -T could not tell)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- a private Dovecot
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mail_uid=$(id -u nobody) mail_gid=$(id -g nobody)
password=bench-$RANDOM$RANDOM
mkdir -p "$work/run" "$work/state" "$work/mail"
: >"$work/passwd"
for user in bench1 bench16; do # one fresh mailbox per run, like the Go benchmark's fresh store
	install -d -o "$mail_uid" -g "$mail_gid" -m 0700 "$work/mail/$user"
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$user" "$password" "$mail_uid" "$mail_gid" "$work/mail/$user" >>"$work/passwd"
done
chmod 0644 "$work/passwd"

conf=$work/dovecot.conf
if ((dv_major == 2 && dv_minor == 3)); then
	cat >"$conf" <<EOF
# Private benchmark instance (Dovecot 2.3 syntax), written by bench/dovecot/run.sh.
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
  mail_max_userip_connections = 64
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
else
	cat >"$conf" <<EOF
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
# Private benchmark instance (Dovecot 2.4 syntax), written by bench/dovecot/run.sh.
base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain
passdb passwd-file {
  passwd_file_path = $work/passwd
}
userdb passwd-file {
  passwd_file_path = $work/passwd
}
first_valid_uid = $mail_uid
last_valid_uid = $mail_uid
mail_driver = maildir
mail_path = ~/Maildir
# Every APPEND is on disk (message file, its directory, index and uidlist) before OK.
mail_fsync = always
protocol imap {
  mail_max_userip_connections = 64
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
fi
doveconf -c "$conf" -n >"$work/doveconf.out" 2>&1 || { cat "$work/doveconf.out" >&2; die "Dovecot rejected the generated config"; }
[[ $(doveconf -c "$conf" -h mail_fsync 2>/dev/null) == always ]] || die "mail_fsync is not 'always' in the effective config"

"$dovecot_bin" -F -c "$conf" >"$work/dovecot.stdout" 2>&1 &
dovecot_pid=$!
for i in $(seq 100); do
	kill -0 "$dovecot_pid" 2>/dev/null || { cat "$work/dovecot.stdout" >&2; die "dovecot exited at start"; }
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	((i < 100)) || die "dovecot did not listen on 127.0.0.1:$port within 10 s"
	sleep 0.1
done
say "Dovecot $dovecot_version running as PID $dovecot_pid on 127.0.0.1:$port, data in $work"

# --- Dovecot: 1 connection, then 16 connections into a fresh mailbox
declare -A dovecot_rate dovecot_cpu
for senders in 1 16; do
	say "Dovecot APPEND, $senders sender(s), $total messages ..."
	# In the background so that a signal to this script is handled at once (see cleanup).
	python3 "$here/append.py" --port "$port" --user "bench$senders" --password "$password" \
		--senders "$senders" --total "$total" >"$work/append$senders.out" &
	client_pid=$!
	wait "$client_pid" || die "APPEND run with $senders sender(s) failed"
	client_pid=
	line=$(grep '^RESULT ' "$work/append$senders.out") || die "no RESULT line from append.py"
	say "  $line"
	dovecot_rate[$senders]=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
	dovecot_cpu[$senders]=$(sed -n 's/.* client_cpu=\([0-9.]*\).*/\1/p' <<<"$line")
	# Independent of Dovecot's own answer: the files on disk.
	files=$(find "$work/mail/bench$senders/Maildir/new" "$work/mail/bench$senders/Maildir/cur" -type f | wc -l)
	[[ $files -eq $total ]] || die "maildir of bench$senders holds $files message files, want $total"
done
grep -iE 'error|fatal|panic' "$work/dovecot.log" >&2 && die "errors in the Dovecot log (above)"

# --- Gatehouse: the store's durable delivery, same temp filesystem
say "Gatehouse store, go test -bench BenchmarkDurableDelivery ..."
mkdir -p "$work/go"
(cd "$root" && TMPDIR="$work/go" go test -run XXX -bench BenchmarkDurableDelivery -benchtime 1x ./bench/) \
	>"$work/go.out" 2>&1 || { cat "$work/go.out" >&2; die "go test failed"; }
grep -E '^(Benchmark|goos|goarch|cpu|ok|PASS)' "$work/go.out" | sed 's/^/  /' >&2
declare -A store_rate
for senders in 1 16; do
	store_rate[$senders]=$(awk -v s="BenchmarkDurableDelivery/senders=$senders" \
		'index($1, s) == 1 && (length($1) == length(s) || substr($1, length(s) + 1, 1) == "-") {
			for (i = 2; i < NF; i++) if ($(i + 1) == "msgs/s") print $i }' "$work/go.out")
	[[ -n ${store_rate[$senders]} ]] || die "no msgs/s for senders=$senders in the go test output"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report
smoke=
((total == 10000)) || smoke="
NOT COMPARABLE: Dovecot got TOTAL=$total messages per run, the Go benchmark always 10,000."
table() {
	local dh="Dovecot $dovecot_version IMAP APPEND"
	printf '| senders | %-25s | %-*s | %s |\n' "Gatehouse store (Deliver)" "${#dh}" "$dh" "store / Dovecot"
	printf '|--------:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' $(seq 26))" "$(printf -- '-%.0s' $(seq $((${#dh} + 1))))" \
		"$(printf -- '-%.0s' $(seq 16))"
	local s
	for s in 1 16; do
		awk -v s="$s" -v a="${store_rate[$s]}" -v b="${dovecot_rate[$s]}" -v w="${#dh}" \
			'BEGIN { printf "| %7d | %25.0f | %*.0f | %15.2f |\n", s, a, w, b, a / b }'
	done
}
cat <<EOF

Durable delivery of 10,000 distinct 4 KB messages into one folder, msgs/s (higher is better)${smoke}

$(table)

Machine: $(nproc) CPU(s), $cpu_model; Linux $(uname -r); temp dir on ${fs}
Load average (1/5/15 min): $load_before before, $load_after after
Go: $(go version | awk '{print $3}'); Python: $(python3 -c 'import platform; print(platform.python_version())')
Dovecot client CPU (Python imaplib, fraction of one core while timed): ${dovecot_cpu[1]} with 1 sender, ${dovecot_cpu[16]} with 16

Not the same thing measured on both sides, honestly:
- Dovecot's figure is end to end over IMAP on loopback: LOGIN beforehand, then per message
  an APPEND with a synchronizing literal (imaplib waits for the "+" continuation, so two
  round trips), the server's maildir save with mail_fsync=always (message file, new/ dir,
  index and dovecot-uidlist fsynced: about 7 fsyncs per message under strace on 2.3.19),
  and the tagged OK. Each connection is its own imap process; the 16 share one mailbox
  and take its index and uidlist locks in turn.
- Gatehouse's figure is the store's Deliver call in process (message parsed and indexed,
  blob file and directory fsynced, then a SQLite WAL commit with synchronous=FULL,
  group-committed across concurrent senders): no protocol, no sockets, no processes.
  The IMAP front end does not exist yet; when it does, this comparison should be redone
  APPEND against APPEND.
- Same machine, same filesystem, same run, same message bytes (message4K), each side into
  a fresh mailbox/store, one timed pass each (no repetitions): expect run-to-run noise,
  more so on a loaded machine.
EOF
