// Package config is Gatehouse's configuration: the TOML file that
// `gatehouse serve --config FILE` and every admin subcommand read, its
// defaults, and its validation.
//
// The struct tree below is the single source of truth. Each field's toml tag
// is its key and each field's doc comment is its documentation:
// docs/configuration.md is generated from this file (go generate
// ./internal/config), and a test fails when the two disagree.
//
// Rules a newcomer must not break:
//   - every field has a toml tag and a doc comment written for administrators;
//   - every key has a default in [Default], and the defaults pass [Config.Validate]
//     on any machine, so that `gatehouse serve` with no config file starts;
//   - unknown keys are errors, never ignored: a typo must not silently leave a
//     listener at its default;
//   - every error from [Load], [Parse] and [Config.Validate] is a configuration
//     error (the command line exits with status 2) and names the offending key
//     in dotted form; each one is an [*Error].
//
// There is exactly one message size limit, [Limits.MaxMessageSize]: it drives
// SMTP SIZE, IMAP APPENDLIMIT and the ActiveSync request limit.
package config

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"
)

//go:generate go run ./gen

// Config is the whole configuration file. The zero value is not useful; start
// from [Default] or [Load].
type Config struct {
	// Directory that holds everything Gatehouse stores: the database, message
	// blobs, the generated self-signed certificate and the control socket used by
	// the admin subcommands. It is created on first start. A relative path is
	// relative to the working directory. The `--data` command line flag
	// overrides it.
	DataDir string `toml:"data_dir"`

	// Fully qualified name of this server: the SMTP HELO/EHLO name, the name in
	// the self-signed certificate and the host in Autodiscover answers. The
	// domain of the administrator account created on first start,
	// `admin@<domain>`, is derived from it: the host name without its first label
	// when it has three labels or more (`mail.example.org` gives `example.org`),
	// the host name itself when it has two (`example.org`), and the host name
	// followed by `.localdomain` when it has one (`myhost` gives
	// `myhost.localdomain`).
	Hostname string `toml:"hostname" docdefault:"the machine's host name (as reported by the operating system; \"localhost\" if that is not a valid DNS name)"`

	// How long a shutdown waits, after the listeners have closed and long polls
	// (IMAP IDLE, ActiveSync Ping and hanging Sync) have been woken, for
	// sessions to finish before they are cancelled and the store is closed.
	ShutdownGrace Duration `toml:"shutdown_grace"`

	// TLS certificate. When both `cert` and `key` are empty, Gatehouse generates
	// a self-signed certificate for `hostname` into the data directory on first
	// start and reuses it afterwards.
	TLS TLS `toml:"tls"`

	// Network addresses of the listeners, each as `host:port`. An empty host
	// listens on all interfaces; an empty string disables that listener. Port 0
	// picks a free port (useful in tests only). A production server uses the
	// standard ports 443, 143, 993, 25, 587, 465, 389 and 636.
	Listen Listen `toml:"listen"`

	// Size limits.
	Limits Limits `toml:"limits"`

	// Authentication policy for every protocol.
	Auth Auth `toml:"auth"`

	// The groupware store: database and message blobs.
	Store Store `toml:"store"`

	// Inbound SMTP policy.
	SMTP SMTP `toml:"smtp"`

	// Outbound mail: the durable queue that delivers to other servers.
	Queue Queue `toml:"queue"`

	// The IMAP front end.
	IMAP IMAP `toml:"imap"`

	// The LDAP address book.
	LDAP LDAP `toml:"ldap"`

	// Exchange ActiveSync: long polls and the device policy.
	ActiveSync ActiveSync `toml:"activesync"`

	// Logging to standard error.
	Log Log `toml:"log"`
}

// SMTP is the [smtp] table.
type SMTP struct {
	// Refuse (550 5.7.1) inbound mail that fails DMARC when the sender's domain
	// publishes `p=reject`. When false, the result is only recorded in the
	// `Authentication-Results` header.
	RejectDMARC bool `toml:"reject_dmarc"`

	// Address that receives mail for `postmaster@` every hosted domain (RFC 5321
	// 4.5.1); empty: only domains with such an account or alias accept it.
	Postmaster string `toml:"postmaster"`

	// Most simultaneous SMTP connections from one client address.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// DNS server (`host:port`) for MX lookups of outbound mail and the SPF, DKIM
	// and DMARC checks of inbound mail. Empty: the system's resolver.
	DNSServer string `toml:"dns_server"`
}

// LDAP is the [ldap] table.
type LDAP struct {
	// Let clients that have not bound search the address book. When false, an
	// anonymous client reads only the Root DSE and the schema.
	AllowAnonymous bool `toml:"allow_anonymous"`
}

// IMAP is the [imap] table.
type IMAP struct {
	// Memory for the envelope cache, shared by every open mailbox: the decoded
	// ENVELOPE, INTERNALDATE and RFC822.SIZE of the messages clients fetched
	// (about 450 bytes a message), and the header fields a client such as
	// Thunderbird lists a folder with, so that listing a mailbox again reads
	// nothing from the store. When it is full, the least recently used mailbox's cache
	// is dropped; a mailbox too large for the whole budget uses only what is
	// free. An integer of bytes or a string such as `"64MiB"`; `0` turns the
	// cache off.
	EnvelopeCache Size `toml:"envelope_cache"`
}

// ActiveSync is the [activesync] table.
type ActiveSync struct {
	// Shortest heartbeat a phone may ask for in a Ping or a Sync with
	// HeartbeatInterval (a shorter one is answered with this bound).
	HeartbeatMin Duration `toml:"heartbeat_min"`

	// Longest heartbeat (and Sync Wait) a phone may ask for. A reverse proxy in
	// front of Gatehouse must allow requests to last this long plus a minute.
	HeartbeatMax Duration `toml:"heartbeat_max"`

	// Most folders one Ping may watch.
	MaxPingFolders int `toml:"max_ping_folders"`

	// Require a device PIN or password. The default policy requires nothing,
	// which every phone accepts.
	RequirePassword bool `toml:"require_password"`

	// Shortest device PIN accepted when `require_password` is set (0: no minimum).
	MinPasswordLength int `toml:"min_password_length"`

	// Wipe the device after this many failed unlock attempts (0: never).
	MaxPasswordFailures int `toml:"max_password_failures"`

	// Require a password with letters and digits rather than a numeric PIN (with
	// `require_password`).
	RequireAlphanumericPassword bool `toml:"require_alphanumeric_password"`

	// Lock the device after this long without use; `"0s"`: no requirement. At most
	// 9999 seconds.
	LockAfter Duration `toml:"lock_after"`

	// Require the device's storage to be encrypted.
	RequireEncryption bool `toml:"require_encryption"`
}

// Queue is the [queue] table.
type Queue struct {
	// Send all outbound mail through this server (`host:port`) instead of
	// looking up each domain's MX. Empty: deliver directly.
	Smarthost string `toml:"smarthost"`

	// User name for AUTH PLAIN at the smarthost; empty: no authentication.
	SmarthostUser string `toml:"smarthost_user"`

	// Password for AUTH PLAIN at the smarthost.
	SmarthostPassword string `toml:"smarthost_password"`

	// TCP port of the remote servers found by MX lookup. Only tests change it.
	Port int `toml:"port"`

	// How long delivery to a recipient is retried before the message is returned
	// to its sender with a delivery status notification.
	Lifetime Duration `toml:"lifetime"`

	// First delay before retrying a temporary failure; it doubles with each
	// attempt up to `retry_max`.
	RetryBase Duration `toml:"retry_base"`

	// Longest delay between two attempts.
	RetryMax Duration `toml:"retry_max"`

	// Most deliveries in progress at once.
	Concurrency int `toml:"concurrency"`
}

// TLS is the [tls] table.
type TLS struct {
	// Path of the PEM certificate chain, leaf first. Must be set together with
	// `key`.
	Cert string `toml:"cert"`

	// Path of the PEM private key of `cert`. Must be set together with `cert`.
	Key string `toml:"key"`
}

// Listen is the [listen] table. Each field is a host:port, or "" for a
// disabled listener.
type Listen struct {
	// Plain HTTP: ActiveSync and Autodiscover for use behind a reverse proxy that
	// terminates TLS. Raise the proxy's read timeout to at least 3600 seconds, or
	// it cuts off ActiveSync Ping requests, which may stay open for up to 59
	// minutes.
	HTTP string `toml:"http"`

	// HTTPS: ActiveSync (`/Microsoft-Server-ActiveSync`) and Autodiscover. The
	// standard port is 443.
	HTTPS string `toml:"https"`

	// IMAP with STARTTLS. The standard port is 143.
	IMAP string `toml:"imap"`

	// IMAP over implicit TLS. The standard port is 993.
	IMAPS string `toml:"imaps"`

	// SMTP for inbound mail from other servers (MX): accepts mail for local
	// domains only and never relays. The standard port is 25.
	SMTP string `toml:"smtp"`

	// SMTP submission with STARTTLS and authentication, for mail clients. The
	// standard port is 587.
	Submission string `toml:"submission"`

	// SMTP submission over implicit TLS, for mail clients. The standard port is
	// 465.
	Submissions string `toml:"submissions"`

	// LDAP with StartTLS: the read-only global address list. The standard port
	// is 389.
	LDAP string `toml:"ldap"`

	// LDAP over implicit TLS. The standard port is 636.
	LDAPS string `toml:"ldaps"`

	// Go's runtime profiles (net/http/pprof under /debug/pprof/) over plain
	// HTTP without authentication, for diagnosing memory and CPU use. Empty (the
	// default) disables it; when set, it must be a loopback address.
	Debug string `toml:"debug"`
}

// Limits is the [limits] table.
type Limits struct {
	// Largest message accepted, in bytes: an integer such as `52428800`, or a
	// string with a binary unit such as `"50MiB"`. This one limit is announced
	// as SMTP SIZE and IMAP APPENDLIMIT and bounds ActiveSync requests; it may
	// not exceed 4294967295 (4 GiB - 1), the largest APPENDLIMIT.
	MaxMessageSize Size `toml:"max_message_size"`

	// Most recipients of one message, for SMTP RCPT TO and ActiveSync
	// SendMail.
	MaxRecipients int `toml:"max_recipients"`
}

// Auth is the [auth] table.
type Auth struct {
	// Accept plain-text passwords (IMAP LOGIN, SASL PLAIN, SMTP AUTH, LDAP simple
	// bind, HTTP Basic) on connections that are not encrypted with TLS. When
	// false, such passwords are refused unless the connection comes from a
	// loopback address.
	AllowPlaintextWithoutTLS bool `toml:"allow_plaintext_without_tls"`

	// Failed logins (per account and per client address) tolerated before each
	// further attempt is delayed; the delay grows with every further failure, up
	// to `throttle_max_delay`.
	ThrottleAfterFailures int `toml:"throttle_after_failures"`

	// Longest delay imposed on a login attempt after repeated failures. `"0s"`
	// turns login throttling off.
	ThrottleMaxDelay Duration `toml:"throttle_max_delay"`

	// How long a failed login is remembered for throttling. A successful login
	// forgets the failures of that account from that address.
	ThrottleWindow Duration `toml:"throttle_window"`
}

// Store is the [store] table.
type Store struct {
	// Database backend: `"sqlite"`, a database file in the data directory that
	// needs no other software. (`"postgres"` is reserved for the scale-out
	// backend and not yet supported.)
	Backend string `toml:"backend"`

	// How long a message blob stays on disk after the last reference to it was
	// deleted. Keep it longer than the interval between backups and than any
	// client session may keep reading a deleted message.
	BlobGracePeriod Duration `toml:"blob_grace_period"`

	// How long the record of a deleted or moved item (a tombstone) is kept.
	// Clients that synchronise within this time receive an exact list of
	// deletions; clients that were away longer must compare their whole folder
	// contents, which costs more but loses nothing.
	PruneTombstonesAfter Duration `toml:"prune_tombstones_after"`

	// Number of database connections used for reading, in addition to the single
	// writing connection.
	ReaderConnections int `toml:"reader_connections"`
}

// Log is the [log] table.
type Log struct {
	// Least severe messages logged: `"debug"`, `"info"`, `"warn"` or `"error"`.
	// Protocol transcripts are logged at `"debug"` only, with credentials
	// redacted.
	Level string `toml:"level"`

	// Output format: `"text"` (key=value pairs) or `"json"` (one JSON object per
	// line).
	Format string `toml:"format"`
}

// Default returns the configuration used when there is no config file:
// data in ./gatehouse-data, every listener on all interfaces on an
// unprivileged port, a self-signed certificate. It is valid on every machine.
func Default() *Config {
	return &Config{
		DataDir:       "./gatehouse-data",
		Hostname:      systemHostname(),
		ShutdownGrace: Duration(5 * time.Second),
		Listen: Listen{
			HTTP:        ":8080",
			HTTPS:       ":8443",
			IMAP:        ":1143",
			IMAPS:       ":1993",
			SMTP:        ":2525",
			Submission:  ":1587",
			Submissions: ":1465",
			LDAP:        ":1389",
			LDAPS:       ":1636",
		},
		Limits: Limits{
			MaxMessageSize: 50 * MiB,
			MaxRecipients:  1000,
		},
		Auth: Auth{
			AllowPlaintextWithoutTLS: false,
			ThrottleAfterFailures:    5,
			ThrottleMaxDelay:         Duration(30 * time.Second),
			ThrottleWindow:           Duration(15 * time.Minute),
		},
		Store: Store{
			Backend:              "sqlite",
			BlobGracePeriod:      Duration(72 * time.Hour),
			PruneTombstonesAfter: Duration(720 * time.Hour),
			ReaderConnections:    4,
		},
		SMTP: SMTP{
			MaxConnectionsPerIP: 50,
		},
		Queue: Queue{
			Port:        25,
			Lifetime:    Duration(120 * time.Hour),
			RetryBase:   Duration(5 * time.Minute),
			RetryMax:    Duration(4 * time.Hour),
			Concurrency: 8,
		},
		IMAP: IMAP{
			EnvelopeCache: 64 * MiB,
		},
		ActiveSync: ActiveSync{
			HeartbeatMin:   Duration(60 * time.Second),
			HeartbeatMax:   Duration(3540 * time.Second),
			MaxPingFolders: 300,
		},
		Log: Log{
			Level:  "info",
			Format: "text",
		},
	}
}

// systemHostname is the default hostname: the operating system's host name,
// lower-cased and without a trailing dot, or "localhost" when that is not a
// valid DNS name.
func systemHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if checkHostname(h) != "" {
		return "localhost"
	}
	return h
}

// DefaultDomain is the mail domain implied by Hostname, used for the
// administrator account created on first start (admin@<domain>):
//
//	mail.example.org -> example.org   (three labels or more: drop the first)
//	example.org      -> example.org   (two labels: the host name itself)
//	myhost           -> myhost.localdomain
//
// The result is lower case.
func (c *Config) DefaultDomain() string {
	h := strings.TrimSuffix(strings.ToLower(c.Hostname), ".")
	switch n := strings.Count(h, "."); {
	case h == "":
		return "localdomain"
	case n == 0:
		return h + ".localdomain"
	case n == 1:
		return h
	default:
		return h[strings.IndexByte(h, '.')+1:]
	}
}

// SlogLevel is Level as a slog.Level. An unknown level (which Validate
// rejects) is slog.LevelInfo.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Handler returns a slog.Handler writing to w in Format at Level.
func (l Log) Handler(w io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// isIP reports whether s is an IP address (with an optional zone).
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
