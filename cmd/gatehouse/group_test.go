package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestGroupAndUserSetCommands: `group add/list/members/set/del` and `user set`, first on
// the store directly, then through a running server's control socket.
func TestGroupAndUserSetCommands(t *testing.T) {
	bin, dir, data, common := cliSetup(t)
	gh := func(args ...string) result {
		t.Helper()
		return runCmd(t, bin, "", append(args, common...)...)
	}
	for _, u := range []string{"ann@example.org", "bob@example.org"} {
		if r := runCmd(t, bin, "pw\n", append([]string{"user", "add", u, "--password-stdin"}, common...)...); r.code != 0 {
			t.Fatalf("user add: %+v", r)
		}
	}

	// Offline.
	r := gh("group", "add", "Team@example.org", "ann@example.org", "bob@example.org", "ext@remote.example", "--name", "The Team")
	if r.code != 0 || r.stdout != "added group team@example.org with 3 members\n" {
		t.Fatalf("group add: %+v", r)
	}
	if r := gh("group", "add", "ann@example.org", "bob@example.org"); r.code != 1 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("group at an account's address: %+v", r)
	}
	if r := runCmd(t, bin, "pw\n", append([]string{"user", "add", "team@example.org", "--password-stdin"}, common...)...); r.code != 1 {
		t.Errorf("user at a group's address: %+v", r)
	}
	if r := gh("group", "add", "bad@example.org", "typo@example.org"); r.code != 1 || !strings.Contains(r.stderr, "typo@example.org") {
		t.Errorf("unknown local member: %+v", r)
	}
	if r := gh("group", "add", "ops@example.org", "team@example.org", "--hidden"); r.code != 0 {
		t.Errorf("nested hidden group: %+v", r)
	}
	r = gh("group", "list")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "GROUP") ||
		!regexp.MustCompile(`(?m)^ops@example.org\s+-\s+yes\s+team@example.org$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^team@example.org\s+The Team\s+no\s+ann@example.org, bob@example.org, ext@remote.example$`).MatchString(r.stdout) {
		t.Errorf("group list: %+v", r)
	}
	if r := gh("group", "list", "other.example"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("group list of another domain: %+v", r)
	}
	r = gh("group", "members", "team@example.org", "--remove", "ext@remote.example", "--add", "x@remote.example,y@remote.example", "--add", "z@remote.example")
	if r.code != 0 || !strings.Contains(r.stdout, "5 members") {
		t.Errorf("group members: %+v", r)
	}
	if r := gh("group", "members", "team@example.org"); r.code != 2 {
		t.Errorf("group members without changes: %+v", r)
	}
	if r := gh("group", "members", "nosuch@example.org", "--add", "ann@example.org"); r.code != 1 || !strings.Contains(r.stderr, "no group nosuch@example.org") {
		t.Errorf("members of a missing group: %+v", r)
	}

	photo := filepath.Join(dir, "ann.png")
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 8, 8)))
	os.WriteFile(photo, pngBuf.Bytes(), 0o644)
	notImage := filepath.Join(dir, "x.jpg")
	os.WriteFile(notImage, []byte("GIF89a not a photo"), 0o644)
	huge := filepath.Join(dir, "huge.jpg")
	os.WriteFile(huge, append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, store.MaxPhotoSize)...), 0o644)

	r = gh("user", "set", "ann@example.org", "--title", "CTO", "--postal-code", "75001", "--photo", photo, "--hidden")
	if r.code != 0 || r.stdout != "updated ann@example.org: postal-code, title, photo, hidden\n" {
		t.Errorf("user set: %+v", r)
	}
	r = gh("user", "set", "ann@example.org", "--phone", "+33 1 23")
	if r.code != 0 {
		t.Errorf("user set phone: %+v", r)
	}
	if r := gh("user", "set", "ann@example.org", "--photo", notImage); r.code != 2 || !strings.Contains(r.stderr, "JPEG or PNG") {
		t.Errorf("photo not an image: %+v", r)
	}
	if r := gh("user", "set", "ann@example.org", "--photo", huge); r.code != 2 || !strings.Contains(r.stderr, "at most 100 KB") {
		t.Errorf("photo too big: %+v", r)
	}
	if r := gh("user", "set", "ann@example.org", "--hidden", "--visible"); r.code != 2 {
		t.Errorf("--hidden --visible: %+v", r)
	}
	if r := gh("user", "set", "nobody@example.org", "--title", "x"); r.code != 1 || !strings.Contains(r.stderr, "no user nobody@example.org") {
		t.Errorf("user set of a missing user: %+v", r)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AccountByEmail(ctx, "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "CTO" || a.PostalCode != "75001" || a.Phone != "+33 1 23" || !a.HiddenFromGAL || !bytes.Equal(a.Photo, pngBuf.Bytes()) {
		t.Errorf("attributes after user set: %+v", a.Attributes)
	}
	st.Close()

	// Online: through the control socket.
	serr, stopServer := startServer(t, bin, common)
	if r := gh("user", "set", "ann@example.org", "--visible", "--photo", "", "--title", ""); r.code != 0 {
		t.Errorf("online user set: %+v\nserver: %s", r, serr.String())
	}
	if r := gh("group", "set", "ops@example.org", "--visible", "--name", "Operations"); r.code != 0 {
		t.Errorf("online group set: %+v", r)
	}
	if r := gh("group", "del", "team@example.org"); r.code != 0 || r.stdout != "deleted group team@example.org\n" {
		t.Errorf("online group del: %+v", r)
	}
	if r := gh("group", "del", "team@example.org"); r.code != 1 || !strings.Contains(r.stderr, "no group team@example.org") {
		t.Errorf("second group del: %+v", r)
	}
	r = gh("group", "list", "example.org")
	if r.code != 0 || !regexp.MustCompile(`(?m)^ops@example.org\s+Operations\s+no\s+team@example.org$`).MatchString(r.stdout) || strings.Contains(r.stdout, "The Team") {
		t.Errorf("online group list: %+v", r)
	}
	for _, op := range []string{"op=user.set", "op=group.set", "op=group.del", "op=group.list"} {
		if !strings.Contains(serr.String(), op) {
			t.Errorf("the running server did not carry out %s", op)
		}
	}
	stopServer()
	st, err = store.Open(ctx, store.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, _ = st.AccountByEmail(ctx, "ann@example.org")
	if a.Title != "" || a.PostalCode != "75001" || a.HiddenFromGAL || len(a.Photo) != 0 {
		t.Errorf("attributes after online user set: %+v", a.Attributes)
	}
}
