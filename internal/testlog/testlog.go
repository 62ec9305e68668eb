// Package testlog gives tests a slog.Logger that writes into the test log. It imports
// nothing of Gatehouse, so that any package's tests may use it.
package testlog

import (
	"log/slog"
	"strings"
	"testing"
)

// Logger returns a slog.Logger that writes into the test's log (shown on failure or
// with -v).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
