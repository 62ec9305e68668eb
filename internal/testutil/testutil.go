// Package testutil starts whole Gatehouse servers for end-to-end tests: every listener
// on 127.0.0.1:0, the data directory in t.TempDir().
package testutil

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testlog"
)

// LoopbackConfig returns a configuration for a test server: hostname mail.example.org,
// data in dir, every listener on a free loopback port, a short shutdown grace.
func LoopbackConfig(dir string) *config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Hostname = "mail.example.org"
	cfg.ShutdownGrace = config.Duration(2e9)
	l := &cfg.Listen
	for _, p := range []*string{&l.HTTP, &l.HTTPS, &l.IMAP, &l.IMAPS, &l.SMTP, &l.Submission, &l.Submissions, &l.LDAP, &l.LDAPS} {
		*p = "127.0.0.1:0"
	}
	return cfg
}

// StartApp starts a whole server and stops it when the test ends. edit, if given,
// adjusts the configuration first.
func StartApp(t testing.TB, edit ...func(*config.Config)) *app.App {
	t.Helper()
	cfg := LoopbackConfig(t.TempDir())
	for _, e := range edit {
		e(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, testlog.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		a.Shutdown(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}
