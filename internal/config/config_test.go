package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	got, err := Load("")
	if err != nil {
		t.Fatalf(`Load("") = %v`, err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf(`Load("") = %+v, want Default() %+v`, got, c)
	}
	got, err = Parse(nil)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("Parse(nil) = %+v, %v; want Default()", got, err)
	}
}

func TestDefaults(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, "./gatehouse-data"},
		{"listen.imap", c.Listen.IMAP, ":1143"},
		{"listen.ldaps", c.Listen.LDAPS, ":1636"},
		{"limits.max_message_size", c.Limits.MaxMessageSize, Size(50 << 20)},
		{"auth.allow_plaintext_without_tls", c.Auth.AllowPlaintextWithoutTLS, false},
		{"store.backend", c.Store.Backend, "sqlite"},
		{"store.blob_grace_period", time.Duration(c.Store.BlobGracePeriod), 72 * time.Hour},
		{"store.reader_connections", c.Store.ReaderConnections, 4},
		{"log.level", c.Log.Level, "info"},
		{"shutdown_grace", time.Duration(c.ShutdownGrace), 5 * time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if c.Hostname == "" || checkHostname(c.Hostname) != "" {
		t.Errorf("default hostname %q is not a valid DNS name", c.Hostname)
	}
}

// errorsOf flattens err into its *Error parts, failing the test if any part
// is not an *Error.
func errorsOf(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("error %v (%T) is not a *config.Error", err, err)
			return
		}
		out = append(out, e)
	}
	if err != nil {
		walk(err)
	}
	return out
}

func keysOf(t *testing.T, err error) []string {
	t.Helper()
	var keys []string
	for _, e := range errorsOf(t, err) {
		keys = append(keys, e.Key)
	}
	return keys
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		keys []string // every error's key, in order
		msg  string   // substring of the whole message
	}{
		{"unknown top-level key", `hostnam = "x.example"`, []string{"hostnam"}, `config: unknown key "hostnam"`},
		{"unknown key in table", "[listen]\nimapz = \":1\"", []string{"listen.imapz"}, `config: unknown key "listen.imapz"`},
		{"unknown dotted key", `listen.imapz = ":1"`, []string{"listen.imapz"}, `unknown key "listen.imapz"`},
		{"unknown key in inline table", `listen = { imapz = ":1" }`, []string{"listen.imapz"}, `unknown key "listen.imapz"`},
		{"unknown table reported once", "[nosuch]\na = 1\nb = 2", []string{"nosuch"}, `unknown key "nosuch"`},
		{"unknown subtable", "[listen.extra]\na = 1", []string{"listen.extra"}, `unknown key "listen.extra"`},
		{"keys are case-sensitive", "[Listen]\nimap = \":1\"", []string{"Listen"}, `unknown key "Listen"`},
		{"quoted unknown key", `"a b" = 1`, []string{`"a b"`}, `unknown key "\"a b\""`},
		{"several unknown keys in file order", "zzz = 1\naaa = 2\n[log]\nlevels = \"x\"", []string{"zzz", "aaa", "log.levels"}, ""},

		{"string expected", `listen.imap = 1143`, []string{"listen.imap"}, "listen.imap: expected a string, got integer 1143"},
		{"boolean expected", `auth.allow_plaintext_without_tls = "yes"`, []string{"auth.allow_plaintext_without_tls"}, `expected a boolean (true or false), got string "yes"`},
		{"integer expected", `store.reader_connections = "4"`, []string{"store.reader_connections"}, `store.reader_connections: expected an integer, got string "4"`},
		{"integer not float", `store.reader_connections = 4.5`, []string{"store.reader_connections"}, "got float 4.5"},
		{"table expected", `listen = ":1143"`, []string{"listen"}, `listen: expected a table, got string ":1143"`},
		{"array of tables", "[[listen]]\nimap = \":1\"", []string{"listen"}, "got an array of tables"},
		{"scalar used as table", `hostname.x = "y"`, []string{"hostname"}, "hostname: expected a string, got a table"},
		{"array for string", `data_dir = ["a"]`, []string{"data_dir"}, "got an array"},
		{"date for string", `data_dir = 1979-05-27`, []string{"data_dir"}, "got date-time"},
		{"duration expected", `shutdown_grace = 5`, []string{"shutdown_grace"}, `shutdown_grace: expected a duration (a string such as "30s"), got integer 5`},
		{"duration without unit", `shutdown_grace = "5"`, []string{"shutdown_grace"}, `"5" is not a duration: it needs a unit`},
		{"bad duration", `store.blob_grace_period = "3 days"`, []string{"store.blob_grace_period"}, `store.blob_grace_period: "3 days" is not a duration`},
		{"bad size", `limits.max_message_size = "50MB"`, []string{"limits.max_message_size"}, `"50MB" is not a size`},
		{"negative size", `limits.max_message_size = -1`, []string{"limits.max_message_size"}, "-1 is negative"},
		{"size type", `limits.max_message_size = true`, []string{"limits.max_message_size"}, "expected a size"},
		{"int overflow is a validation error", `store.reader_connections = 9223372036854775807`, []string{"store.reader_connections"}, "is not between 1 and 1000"},

		{"decode and validation errors together", "listen.imap = 1\nlog.level = \"loud\"\nbogus = 1", []string{"listen.imap", "bogus", "log.level"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.toml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if got := keysOf(t, err); !reflect.DeepEqual(got, tc.keys) {
				t.Errorf("error keys = %q, want %q; error:\n%v", got, tc.keys, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			for _, e := range errorsOf(t, err) {
				if !strings.HasPrefix(e.Error(), "config: ") {
					t.Errorf("error %q lacks the config: prefix", e)
				}
			}
		})
	}
}

func TestSyntaxErrorNamesLine(t *testing.T) {
	for _, tc := range []struct {
		toml string
		line int
	}{
		{"hostname = \"a.example\"\n\n[listen\nimap = \":1\"\n", 3},
		{"a = \nb = 1", 1},
		{"x = 1\ny = \"unterminated\n", 2},
		{"[listen]\nimap = \":1\"\nimap = \":2\"\n", 3},
	} {
		_, err := Parse([]byte(tc.toml))
		errs := errorsOf(t, err)
		if len(errs) != 1 {
			t.Errorf("%q: errors %v, want one", tc.toml, err)
			continue
		}
		if e := errs[0]; e.Line != tc.line || e.Key != "" {
			t.Errorf("%q: error %q has line %d key %q, want line %d", tc.toml, e, e.Line, e.Key, tc.line)
		}
		if want := "line " + strconv.Itoa(tc.line) + ": "; !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q does not contain %q", tc.toml, err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		key    string
		modify func(*Config)
		msg    string
	}{
		{"data_dir", func(c *Config) { c.DataDir = "" }, "must not be empty"},
		{"hostname", func(c *Config) { c.Hostname = "" }, "is empty"},
		{"hostname", func(c *Config) { c.Hostname = "mail_1.example.org" }, "is not a DNS name"},
		{"hostname", func(c *Config) { c.Hostname = "mail..example.org" }, "is not a DNS name"},
		{"hostname", func(c *Config) { c.Hostname = "-mail.example.org" }, "may not start or end with '-'"},
		{"hostname", func(c *Config) { c.Hostname = "192.0.2.1" }, "is an IP address"},
		{"hostname", func(c *Config) { c.Hostname = strings.Repeat("a.", 127) + "org" }, "longer than 253"},
		{"shutdown_grace", func(c *Config) { c.ShutdownGrace = -1 }, "is negative"},
		{"tls.key", func(c *Config) { c.TLS.Cert = "/etc/cert.pem" }, "must be set when tls.cert is set"},
		{"tls.cert", func(c *Config) { c.TLS.Key = "/etc/key.pem" }, "must be set when tls.key is set"},
		{"listen.imap", func(c *Config) { c.Listen.IMAP = "abc" }, `listen.imap: "abc" is not host:port`},
		{"listen.http", func(c *Config) { c.Listen.HTTP = "8080" }, "is not host:port"},
		{"listen.https", func(c *Config) { c.Listen.HTTPS = ":https" }, "invalid port"},
		{"listen.smtp", func(c *Config) { c.Listen.SMTP = ":65536" }, "invalid port"},
		{"listen.submission", func(c *Config) { c.Listen.Submission = ":-1" }, "invalid port"},
		{"listen.submissions", func(c *Config) { c.Listen.Submissions = "bad_host:465" }, "invalid host"},
		{"listen.ldap", func(c *Config) { c.Listen.LDAP = "::1:389" }, "is not host:port"},
		{"listen.ldaps", func(c *Config) { c.Listen.LDAPS = c.Listen.LDAP }, `overlaps listen.ldap ":1389"`},
		{"listen.imaps", func(c *Config) { c.Listen.IMAP = "127.0.0.1:993"; c.Listen.IMAPS = ":993" }, "overlaps listen.imap"},
		{"listen.debug", func(c *Config) { c.Listen.Debug = ":6060" }, "not a loopback address"},
		{"listen.debug", func(c *Config) { c.Listen.Debug = "192.0.2.1:6060" }, "not a loopback address"},
		{"activesync.heartbeat_max", func(c *Config) { c.ActiveSync.HeartbeatMax = Duration(time.Second) }, "shorter than activesync.heartbeat_min"},
		{"activesync.max_password_failures", func(c *Config) { c.ActiveSync.MaxPasswordFailures = 3 }, "not 0 or between 4 and 16"},
		{"limits.max_message_size", func(c *Config) { c.Limits.MaxMessageSize = 0 }, "must be positive"},
		{"limits.max_message_size", func(c *Config) { c.Limits.MaxMessageSize = 4 * GiB }, "larger than 4294967295"},
		{"limits.max_recipients", func(c *Config) { c.Limits.MaxRecipients = 0 }, "at least 1"},
		{"auth.throttle_after_failures", func(c *Config) { c.Auth.ThrottleAfterFailures = -1 }, "negative"},
		{"auth.throttle_max_delay", func(c *Config) { c.Auth.ThrottleMaxDelay = Duration(-time.Second) }, "negative"},
		{"auth.throttle_window", func(c *Config) { c.Auth.ThrottleWindow = 0 }, "must be positive"},
		{"store.backend", func(c *Config) { c.Store.Backend = "postgres" }, "not yet supported"},
		{"store.backend", func(c *Config) { c.Store.Backend = "mysql" }, `"mysql" is not a backend`},
		{"store.blob_grace_period", func(c *Config) { c.Store.BlobGracePeriod = 0 }, "must be positive"},
		{"store.prune_tombstones_after", func(c *Config) { c.Store.PruneTombstonesAfter = Duration(-time.Hour) }, "must be positive"},
		{"store.reader_connections", func(c *Config) { c.Store.ReaderConnections = 0 }, "not between 1 and 1000"},
		{"log.level", func(c *Config) { c.Log.Level = "INFO" }, `"INFO" is not one of`},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }, `"xml" is not one of`},
	} {
		c := Default()
		tc.modify(c)
		err := c.Validate()
		if got := keysOf(t, err); !reflect.DeepEqual(got, []string{tc.key}) {
			t.Errorf("%s (%s): error keys %q, want [%q]; error: %v", tc.key, tc.msg, got, tc.key, err)
			continue
		}
		if want := "config: " + tc.key + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q does not start with %q", err, want)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("error %q does not contain %q", err, tc.msg)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, modify := range []func(*Config){
		func(c *Config) { c.Hostname = "myhost" },
		func(c *Config) { c.Hostname = "Mail.Example.ORG" },
		func(c *Config) { c.TLS.Cert, c.TLS.Key = "cert.pem", "key.pem" },
		func(c *Config) { c.Listen = Listen{} }, // every listener disabled
		func(c *Config) { c.Listen = Listen{IMAP: "127.0.0.1:0", IMAPS: "127.0.0.1:0", SMTP: "[::1]:0"} },
		func(c *Config) { c.Listen.IMAP, c.Listen.IMAPS = "127.0.0.1:143", "[::1]:143" },
		func(c *Config) { c.Listen.IMAP, c.Listen.IMAPS = "127.0.0.1:143", "192.0.2.1:143" },
		func(c *Config) { c.Listen.IMAP = "localhost:143" },
		func(c *Config) { c.Listen.IMAP = "[fe80::1%eth0]:143" },
		func(c *Config) { c.Limits.MaxMessageSize = 4*GiB - 1 },
		func(c *Config) { c.Auth.ThrottleMaxDelay = 0; c.Auth.ThrottleAfterFailures = 0 },
		func(c *Config) { c.ShutdownGrace = 0 },
		func(c *Config) { c.Log = Log{Level: "debug", Format: "json"} },
	} {
		c := Default()
		modify(c)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	c := Default()
	c.DataDir = ""
	c.Listen.IMAP = "abc"
	c.Log.Level = "loud"
	want := []string{"data_dir", "listen.imap", "log.level"}
	if got := keysOf(t, c.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse([]byte(`
data_dir = "/srv/gh"
hostname = "mail.example.org"
shutdown_grace = "1500ms"

[tls]
cert = "c.pem"
key = "k.pem"

[listen]
imap = "127.0.0.1:143"
ldap = ""

[limits]
max_message_size = "25 MiB"
max_recipients = 50

[auth]
allow_plaintext_without_tls = true
throttle_after_failures = 3
throttle_max_delay = "1m"
throttle_window = "1h"

[store]
blob_grace_period = "1h30m"
prune_tombstones_after = "2160h"
reader_connections = 8

[log]
level = "debug"
format = "json"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/srv/gh"
	want.Hostname = "mail.example.org"
	want.ShutdownGrace = Duration(1500 * time.Millisecond)
	want.TLS = TLS{Cert: "c.pem", Key: "k.pem"}
	want.Listen.IMAP = "127.0.0.1:143"
	want.Listen.LDAP = ""
	want.Limits = Limits{MaxMessageSize: 25 * MiB, MaxRecipients: 50}
	want.Auth = Auth{AllowPlaintextWithoutTLS: true, ThrottleAfterFailures: 3, ThrottleMaxDelay: Duration(time.Minute), ThrottleWindow: Duration(time.Hour)}
	want.Store.BlobGracePeriod = Duration(90 * time.Minute)
	want.Store.PruneTombstonesAfter = Duration(2160 * time.Hour)
	want.Store.ReaderConnections = 8
	want.Log = Log{Level: "debug", Format: "json"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", c, want)
	}
	if c.DefaultDomain() != "example.org" {
		t.Errorf("DefaultDomain = %q", c.DefaultDomain())
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.toml")
	if err := os.WriteFile(path, []byte("[listen]\nimapz = \":1\"\nimap = \"abc\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := `config: ` + path + `: unknown key "listen.imapz"` + "\n" +
		`config: ` + path + `: listen.imap: "abc" is not host:port (such as ":143" or "127.0.0.1:143")`
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n%v\nwant:\n%s", err, want)
	}
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.File != path {
		t.Errorf("errors.As(*Error) = %v, %+v", errors.As(err, &cerr), cerr)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.As(err, &cerr) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v is not a config error wrapping fs.ErrNotExist", err)
	}
	if want := "config: " + filepath.Join(dir, "missing.toml") + ": no such file or directory"; err.Error() != want {
		t.Errorf("missing file: %q, want %q", err, want)
	}
}

// TestTestdata checks the seed files of FuzzLoad do what their names say.
func TestTestdata(t *testing.T) {
	for _, tc := range []struct {
		file string
		keys []string
		line int
	}{
		{"valid.toml", nil, 0},
		{"example.toml", nil, 0},
		{"unknown_key.toml", []string{"listen.imapz"}, 0},
		{"bad_type.toml", []string{"listen.imap", "auth.allow_plaintext_without_tls"}, 0},
		{"bad_duration.toml", []string{"store.blob_grace_period"}, 0},
		{"syntax_error.toml", []string{""}, 3},
	} {
		_, err := Load(filepath.Join("testdata", tc.file))
		if got := keysOf(t, err); !reflect.DeepEqual(got, tc.keys) {
			t.Errorf("%s: error keys %q, want %q; error: %v", tc.file, got, tc.keys, err)
		}
		if tc.line != 0 && (errorsOf(t, err)[0].Line != tc.line) {
			t.Errorf("%s: %v: want line %d", tc.file, err, tc.line)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Key: "listen.imapz", Msg: msgUnknownKey}, `config: unknown key "listen.imapz"`},
		{Error{Key: "listen.imap", Msg: `"abc" is not host:port`}, `config: listen.imap: "abc" is not host:port`},
		{Error{File: "g.toml", Line: 3, Msg: "bad"}, `config: g.toml: line 3: bad`},
		{Error{File: "g.toml", Key: "a.b", Msg: "bad"}, `config: g.toml: a.b: bad`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestDefaultDomain(t *testing.T) {
	for host, want := range map[string]string{
		"mail.example.org":     "example.org",
		"mx1.mail.example.org": "mail.example.org",
		"example.org":          "example.org",
		"Mail.Example.ORG.":    "example.org",
		"myhost":               "myhost.localdomain",
		"localhost":            "localhost.localdomain",
	} {
		c := &Config{Hostname: host}
		if got := c.DefaultDomain(); got != want {
			t.Errorf("DefaultDomain(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"72h", 72 * time.Hour, "72h"},
		{"1h30m", 90 * time.Minute, "90m"},
		{"5s", 5 * time.Second, "5s"},
		{"1.5s", 1500 * time.Millisecond, "1500ms"},
		{"0", 0, "0s"},
		{"0s", 0, "0s"},
		{"3us", 3 * time.Microsecond, "3us"},
		{"7ns", 7, "7ns"},
		{"-2m", -2 * time.Minute, "-2m"},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.in)); err != nil || time.Duration(d) != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tc.in, time.Duration(d), err, tc.want)
		}
		if d.String() != tc.str {
			t.Errorf("String(%v) = %q, want %q", tc.want, d.String(), tc.str)
		}
		var back Duration
		text, _ := d.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("round trip of %q: %v, %v", text, back, err)
		}
	}
	for _, in := range []string{"", "5", "3 days", "1d", "h"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", in)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want Size
		str  string
	}{
		{int64(52428800), 50 * MiB, "50MiB"},
		{"52428800", 50 * MiB, "50MiB"},
		{"50MiB", 50 * MiB, "50MiB"},
		{"50 MiB", 50 * MiB, "50MiB"},
		{"512KiB", 512 * KiB, "512KiB"},
		{"1GiB", GiB, "1GiB"},
		{"2TiB", 2 * TiB, "2TiB"},
		{"1000B", 1000, "1000"},
		{int64(1234), 1234, "1234"},
		{int64(0), 0, "0"},
	} {
		var s Size
		if err := s.UnmarshalTOML(tc.in); err != nil || s != tc.want {
			t.Errorf("UnmarshalTOML(%#v) = %d, %v; want %d", tc.in, s, err, tc.want)
		}
		if s.String() != tc.str {
			t.Errorf("String(%d) = %q, want %q", int64(s), s.String(), tc.str)
		}
		var back Size
		text, _ := s.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("round trip of %q: %v, %v", text, back, err)
		}
	}
	for _, in := range []any{"", "MiB", "50MB", "50mib", "-1", "+5", "1.5GiB", "0x10", "1_000", "9223372036854775807KiB", "99999999999999999999", int64(-1), 1.5, true} {
		var s Size
		if err := s.UnmarshalTOML(in); err == nil {
			t.Errorf("UnmarshalTOML(%#v) = %d, want an error", in, s)
		}
	}
}

func TestLogHandler(t *testing.T) {
	var b strings.Builder
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%q) = %s", level, got)
		}
	}
	h := Log{Level: "warn", Format: "json"}.Handler(&b)
	if h.Enabled(t.Context(), -4) || !h.Enabled(t.Context(), 4) {
		t.Error("warn handler enables the wrong levels")
	}
}

// TestEveryFieldDecodes sets every leaf key of the tree from a TOML file, so
// that a field of a type the decoder does not handle is caught.
func TestEveryFieldDecodes(t *testing.T) {
	var walk func(prefix string, typ reflect.Type)
	var lines []string
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := tomlKey(f)
			if key == "" {
				t.Errorf("field %s.%s has no toml tag", typ.Name(), f.Name)
				continue
			}
			switch {
			case f.Type == durationType:
				lines = append(lines, prefix+key+` = "1s"`)
			case f.Type == sizeType:
				lines = append(lines, prefix+key+` = 1024`)
			case f.Type.Kind() == reflect.Struct:
				walk(prefix+key+".", f.Type)
			case f.Type.Kind() == reflect.String:
				lines = append(lines, prefix+key+` = "x"`)
			case f.Type.Kind() == reflect.Bool:
				lines = append(lines, prefix+key+` = true`)
			case f.Type.Kind() == reflect.Int:
				lines = append(lines, prefix+key+` = 1`)
			default:
				t.Errorf("field %s.%s: no test value for type %s", typ.Name(), f.Name, f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	_, err := Parse([]byte(strings.Join(lines, "\n")))
	for _, e := range errorsOf(t, err) {
		if strings.HasPrefix(e.Msg, "expected") || strings.HasPrefix(e.Msg, "cannot decode") || e.Msg == msgUnknownKey {
			t.Errorf("decoding every key: %v", e)
		}
	}
}
