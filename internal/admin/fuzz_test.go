package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// FuzzControlRequest: whatever arrives on the control socket gets a JSON answer and
// never takes the server down.
func FuzzControlRequest(f *testing.F) {
	for _, s := range []string{`{"op":"user.list"}`, `{"op":"domain.add","domain":"example.org"}`, `{"op":"user.add","email":"x"}`, `{`, `null`, `{"op":"nope"}`, `[]`, "\xff"} {
		f.Add(s)
	}
	st, err := store.Open(context.Background(), store.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	c := &ControlServer{svc: NewService(st, directory.New(st, directory.Options{}), nil), log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, req string) {
		req = strings.ReplaceAll(req, "\n", " ")
		server, client := net.Pipe()
		go func() {
			c.handle(context.Background(), server)
			server.Close()
		}()
		client.Write([]byte(req + "\n"))
		var resp Response
		if err := json.NewDecoder(client).Decode(&resp); err != nil {
			t.Fatalf("no JSON answer to %q: %v", req, err)
		}
		client.Close()
		if resp.Exit != 0 && resp.Error == "" {
			t.Fatalf("failure without a message for %q: %+v", req, resp)
		}
	})
}
