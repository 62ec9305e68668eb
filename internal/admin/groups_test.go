package admin

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

func testImages(t testing.TB) (jpg, pngb []byte) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	var j, p bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	return j.Bytes(), p.Bytes()
}

func TestCheckPhoto(t *testing.T) {
	jpg, pngb := testImages(t)
	for _, ok := range [][]byte{jpg, pngb} {
		if err := checkPhoto(ok); err != nil {
			t.Errorf("valid image refused: %v", err)
		}
	}
	for name, bad := range map[string][]byte{
		"gif":       []byte("GIF89a\x01\x00\x01\x00"),
		"truncated": jpg[:4],
		"too big":   append(append([]byte{}, jpg...), make([]byte, store.MaxPhotoSize)...),
		"empty":     nil,
	} {
		if err := checkPhoto(bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// FuzzUserSetPhoto: any bytes given as a photo are refused or stored; nothing panics,
// and a stored photo is a JPEG or PNG within the limit.
func FuzzUserSetPhoto(f *testing.F) {
	jpg, pngb := testImages(f)
	for _, s := range [][]byte{jpg, pngb, jpg[:10], pngb[:20], []byte("\xff\xd8\xff"), []byte("\x89PNG\r\n\x1a\n"), nil} {
		f.Add(s)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := NewService(st, directory.New(st, directory.Options{}), nil)
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		f.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, store.NewAccount{Email: "p@example.org"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, photo []byte) {
		resp := svc.Do(ctx, Request{Op: "user.set", Email: "p@example.org", Photo: photo})
		a, err := st.Account(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Exit == 0 {
			if !bytes.Equal(a.Photo, photo) || len(photo) > store.MaxPhotoSize ||
				!bytes.HasPrefix(photo, []byte{0xFF, 0xD8, 0xFF}) && !bytes.HasPrefix(photo, []byte("\x89PNG")) {
				t.Fatalf("stored a photo it should have refused (%d bytes)", len(photo))
			}
		} else if resp.Error == "" || !strings.Contains(resp.Error, "photo") && !strings.Contains(resp.Error, "nothing to change") {
			t.Fatalf("refusal without a reason: %+v", resp)
		}
	})
}

// TestGroupOps: the group operations' answers through Service.Do.
func TestGroupOps(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := NewService(st, directory.New(st, directory.Options{}), nil)
	st.AddDomain(ctx, "example.org")
	st.CreateAccount(ctx, store.NewAccount{Email: "ann@example.org"})
	for _, c := range []struct {
		req  Request
		exit int
		out  string
	}{
		{Request{Op: "group.add", Email: "g@example.org", Members: []string{"ann@example.org"}}, ExitOK, "added group g@example.org with 1 members"},
		{Request{Op: "group.add", Email: "g@example.org"}, ExitError, "already in use"},
		{Request{Op: "group.add"}, ExitUsage, "group add"},
		{Request{Op: "group.members", Email: "g@example.org"}, ExitUsage, "nothing to change"},
		{Request{Op: "group.members", Email: "g@example.org", Remove: []string{"zed@example.org"}}, ExitError, "not a member"},
		{Request{Op: "group.members", Email: "g@example.org", Members: []string{"typo@example.org"}}, ExitError, "typo@example.org"},
		{Request{Op: "group.del", Email: "nope@example.org"}, ExitError, "no group nope@example.org"},
		{Request{Op: "user.set", Email: "ann@example.org", Attrs: map[string]string{"shoe-size": "9"}}, ExitUsage, "unknown attribute"},
		{Request{Op: "user.set", Email: "ann@example.org", Attrs: map[string]string{"title": "a\nb"}}, ExitUsage, "one line"},
		{Request{Op: "user.set", Email: "ann@example.org", Attrs: map[string]string{"city": "Paris"}}, ExitOK, "updated ann@example.org: city"},
	} {
		r := svc.Do(ctx, c.req)
		if r.Exit != c.exit || !strings.Contains(r.Output+r.Error, c.out) {
			t.Errorf("%+v: %+v, want exit %d and %q", c.req, r, c.exit, c.out)
		}
	}
}
