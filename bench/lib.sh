# Shared helpers of the bench/*/run.sh scripts (sourced, not run): messages, stopping
# the processes a script started (by PID), free loopback ports, waiting for a listener,
# and a process's CPU seconds.

say() { printf '%s\n' "$*" >&2; }
die() {
	say "run.sh: $*"
	exit 1
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it.
stop_pid() {
	[[ -n $1 ]] || return 0
	if kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_listen PORT WHAT: until something accepts on 127.0.0.1:PORT, at most 30 s.
wait_listen() {
	local i
	for i in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	die "$2 did not listen on 127.0.0.1:$1 within 30 s"
}

clk_tck=$(getconf CLK_TCK)
# cpu_of PID: user + system CPU seconds of a process so far.
cpu_of() { awk -v t="$clk_tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

# log_tail NAME FILE: the last lines of a server's log, shown when a run fails.
log_tail() {
	[[ -f $2 ]] || return 0
	say "--- last lines of the $1 log:"
	tail -n 20 "$2" >&2 || true
}

# remove_work: the run's temp dir $work goes, unless KEEP_TMP=1.
remove_work() { if [[ ${KEEP_TMP:-} == 1 ]]; then say "kept $work"; else rm -rf "$work"; fi; }

# on_exit FN: FN runs when the script ends, also on INT and TERM.
on_exit() {
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
