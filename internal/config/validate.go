package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Validate checks every value and returns all problems found, each an *Error
// naming its key in dotted form (joined with errors.Join), or nil. It does
// not touch the file system or the network: whether the TLS files exist or a
// port is free is found out when the server starts.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if msg := checkHostname(c.Hostname); msg != "" {
		bad("hostname", "%q %s", c.Hostname, msg)
	}
	if c.ShutdownGrace < 0 {
		bad("shutdown_grace", "%s is negative", c.ShutdownGrace)
	}

	switch {
	case c.TLS.Cert != "" && c.TLS.Key == "":
		bad("tls.key", "must be set when tls.cert is set (leave both empty for a self-signed certificate)")
	case c.TLS.Cert == "" && c.TLS.Key != "":
		bad("tls.cert", "must be set when tls.key is set (leave both empty for a self-signed certificate)")
	}

	type listener struct{ key, addr, host, port string }
	var seen []listener
	for _, l := range []struct{ key, addr string }{
		{"listen.http", c.Listen.HTTP},
		{"listen.https", c.Listen.HTTPS},
		{"listen.imap", c.Listen.IMAP},
		{"listen.imaps", c.Listen.IMAPS},
		{"listen.smtp", c.Listen.SMTP},
		{"listen.submission", c.Listen.Submission},
		{"listen.submissions", c.Listen.Submissions},
		{"listen.ldap", c.Listen.LDAP},
		{"listen.ldaps", c.Listen.LDAPS},
		{"listen.debug", c.Listen.Debug},
	} {
		if l.addr == "" {
			continue
		}
		host, port, msg := checkListenAddr(l.addr)
		if msg != "" {
			bad(l.key, "%q %s", l.addr, msg)
			continue
		}
		if port == "0" {
			continue
		}
		for _, o := range seen {
			if o.port == port && (o.host == host || o.host == "" || host == "") {
				bad(l.key, "%q overlaps %s %q", l.addr, o.key, o.addr)
				break
			}
		}
		seen = append(seen, listener{l.key, l.addr, host, port})
	}

	if d := c.Listen.Debug; d != "" {
		// Profiles reveal memory contents: never on a public interface.
		host, _, err := net.SplitHostPort(d)
		ip, perr := netip.ParseAddr(host)
		if err != nil || host != "localhost" && (perr != nil || !ip.IsLoopback()) {
			bad("listen.debug", "%q is not a loopback address", d)
		}
	}

	switch ms := c.Limits.MaxMessageSize; {
	case ms <= 0:
		bad("limits.max_message_size", "must be positive")
	case ms > math.MaxUint32:
		bad("limits.max_message_size", "%d is larger than 4294967295 (4 GiB - 1), the largest IMAP APPENDLIMIT", int64(ms))
	}
	if c.Limits.MaxRecipients < 1 {
		bad("limits.max_recipients", "must be at least 1")
	}

	if c.Auth.ThrottleAfterFailures < 0 {
		bad("auth.throttle_after_failures", "must not be negative")
	}
	if c.Auth.ThrottleMaxDelay < 0 {
		bad("auth.throttle_max_delay", "%s is negative", c.Auth.ThrottleMaxDelay)
	}
	if c.Auth.ThrottleWindow <= 0 {
		bad("auth.throttle_window", "must be positive")
	}

	switch c.Store.Backend {
	case "sqlite":
	case "postgres":
		bad("store.backend", `"postgres" is not yet supported; use "sqlite"`)
	default:
		bad("store.backend", `%q is not a backend; use "sqlite"`, c.Store.Backend)
	}
	if c.Store.BlobGracePeriod <= 0 {
		bad("store.blob_grace_period", "must be positive")
	}
	if c.Store.PruneTombstonesAfter <= 0 {
		bad("store.prune_tombstones_after", "must be positive")
	}
	if n := c.Store.ReaderConnections; n < 1 || n > 1000 {
		bad("store.reader_connections", "%d is not between 1 and 1000", n)
	}

	if c.SMTP.Postmaster != "" && !strings.Contains(c.SMTP.Postmaster, "@") {
		bad("smtp.postmaster", "%q is not an address", c.SMTP.Postmaster)
	}
	if c.SMTP.DNSServer != "" {
		if _, _, msg := checkListenAddr(c.SMTP.DNSServer); msg != "" {
			bad("smtp.dns_server", "%s", msg)
		}
	}
	if n := c.SMTP.MaxConnectionsPerIP; n < 1 {
		bad("smtp.max_connections_per_ip", "%d is not a positive number", n)
	}
	if c.Queue.Smarthost != "" {
		if _, _, msg := checkListenAddr(c.Queue.Smarthost); msg != "" {
			bad("queue.smarthost", "%s", msg)
		}
	}
	if c.Queue.SmarthostUser != "" && c.Queue.Smarthost == "" {
		bad("queue.smarthost_user", "set without queue.smarthost")
	}
	if p := c.Queue.Port; p < 1 || p > 65535 {
		bad("queue.port", "%d is not a TCP port", p)
	}
	if c.Queue.Lifetime <= 0 {
		bad("queue.lifetime", "must be positive")
	}
	if c.Queue.RetryBase <= 0 {
		bad("queue.retry_base", "must be positive")
	}
	if c.Queue.RetryMax < c.Queue.RetryBase {
		bad("queue.retry_max", "%s is shorter than queue.retry_base", c.Queue.RetryMax)
	}
	if n := c.Queue.Concurrency; n < 1 || n > 1000 {
		bad("queue.concurrency", "%d is not between 1 and 1000", n)
	}
	if c.IMAP.EnvelopeCache < 0 {
		bad("imap.envelope_cache", "%d is negative", c.IMAP.EnvelopeCache)
	}
	as := c.ActiveSync
	if as.HeartbeatMin < Duration(time.Second) {
		bad("activesync.heartbeat_min", "must be at least 1s")
	}
	if as.HeartbeatMax < as.HeartbeatMin {
		bad("activesync.heartbeat_max", "%s is shorter than activesync.heartbeat_min", as.HeartbeatMax)
	}
	if as.MaxPingFolders < 1 || as.MaxPingFolders > 10000 {
		bad("activesync.max_ping_folders", "%d is not between 1 and 10000", as.MaxPingFolders)
	}
	if as.LockAfter < 0 || as.LockAfter > Duration(9999*time.Second) {
		// [MS-ASPROV] 2.2.2.33 MaxInactivityTimeDeviceLock: seconds, below 9999.
		bad("activesync.lock_after", "%s is not between 0s and 9999s", as.LockAfter)
	}
	if as.MinPasswordLength < 0 || as.MinPasswordLength > 16 {
		bad("activesync.min_password_length", "%d is not between 0 and 16", as.MinPasswordLength)
	}
	if as.MaxPasswordFailures < 0 || as.MaxPasswordFailures > 16 || as.MaxPasswordFailures == 1 || as.MaxPasswordFailures == 2 || as.MaxPasswordFailures == 3 {
		// [MS-ASPROV] 2.2.2.35: 4 to 16, or 0 for none.
		bad("activesync.max_password_failures", "%d is not 0 or between 4 and 16", as.MaxPasswordFailures)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", `%q is not one of "debug", "info", "warn", "error"`, c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", `%q is not one of "text", "json"`, c.Log.Format)
	}

	return errors.Join(errs...)
}

// checkHostname returns "" if h is a valid DNS host name, else what is wrong
// with it.
func checkHostname(h string) string {
	switch {
	case h == "":
		return "is empty"
	case len(h) > 253:
		return "is longer than 253 characters"
	case isIP(h):
		return "is an IP address, not a DNS name"
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "is not a DNS name (each dot-separated label must have 1 to 63 characters)"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "is not a DNS name (a label may not start or end with '-')"
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return "is not a DNS name (letters, digits, '-' and '.' only)"
			}
		}
	}
	return ""
}

// checkListenAddr splits a listener address into host and port, or returns
// what is wrong with it.
func checkListenAddr(addr string) (host, port, msg string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", `is not host:port (such as ":143" or "127.0.0.1:143")`
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", "", "has an invalid port (a number from 0 to 65535)"
	}
	port = strconv.FormatUint(n, 10)
	if host != "" && !isIP(host) && checkHostname(host) != "" {
		return "", "", "has an invalid host (an IP address, a host name or nothing)"
	}
	return host, port, ""
}
