package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse"

// frontEnds are the protocol front ends of DESIGN.md §1; none may import another.
var frontEnds = []string{"activesync", "autodiscover", "imap", "smtp", "directory/ldapserver"}

// leaves import no Gatehouse package outside themselves (stdlibOnly: nothing but the
// standard library).
var leaves = map[string]bool{"activesync/wbxml": true, "message": false, "calendar": false, "mapi": false}

// sqlPackages may be imported only inside store/.
var sqlPackages = []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/mattn/go-sqlite3", "github.com/lib/pq"}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func listPackages(t *testing.T, root, overlay string) []pkg {
	t.Helper()
	args := []string{"list", "-e", "-json"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns the module-relative path of a Gatehouse package, or "" for others.
func rel(path string) string {
	if path == module {
		return "."
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return ""
}

func under(r, root string) bool { return r == root || strings.HasPrefix(r, root+"/") }

func frontEndOf(r string) string {
	for _, fe := range frontEnds {
		if under(r, fe) {
			return fe
		}
	}
	return ""
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// violations applies DESIGN.md §1's dependency rules to a package listing.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		if r == "" {
			continue
		}
		fe := frontEndOf(r)
		for _, d := range p.Deps {
			dr := rel(d)
			if dr == "" {
				continue
			}
			if dfe := frontEndOf(dr); dfe != "" && dfe != fe {
				if fe != "" {
					out = append(out, fmt.Sprintf("front end %s imports front end %s (via %s)", r, dfe, dr))
				} else if !under(r, "internal") && !under(r, "cmd") && !under(r, "bench") {
					// cmd, internal (wiring, tests) and bench (load tools that speak a
					// protocol's codec) sit above the front ends.
					out = append(out, fmt.Sprintf("domain package %s imports front end %s", r, dr))
				}
			}
		}
		for leaf, stdlibOnly := range leaves {
			if !under(r, leaf) {
				continue
			}
			for _, d := range p.Deps {
				if dr := rel(d); dr != "" && !under(dr, leaf) {
					out = append(out, fmt.Sprintf("leaf %s imports %s", r, dr))
				} else if stdlibOnly && dr == "" && !isStdlib(d) {
					out = append(out, fmt.Sprintf("leaf %s imports non-standard %s", r, d))
				}
			}
		}
		if !under(r, "store") {
			imports := append(append(append([]string{}, p.Imports...), p.TestImports...), p.XTestImports...)
			for _, imp := range imports {
				for _, s := range sqlPackages {
					if imp == s || strings.HasPrefix(imp, s+"/") {
						out = append(out, fmt.Sprintf("%s imports SQL package %s outside store/", r, imp))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestImportBoundaries: the real tree keeps the rules.
func TestImportBoundaries(t *testing.T) {
	root := moduleRoot(t)
	for _, v := range violations(listPackages(t, root, "")) {
		t.Error(v)
	}
}

// TestImportBoundariesCatchPlantedViolations plants violating files with a go list
// overlay (nothing on disk changes) and checks each one is reported.
func TestImportBoundariesCatchPlantedViolations(t *testing.T) {
	root := moduleRoot(t)
	tmp := t.TempDir()
	plant := map[string]string{
		"imap/zz_planted.go":      "package imap\nimport _ \"" + module + "/smtp\"\n",
		"smtp/zz_planted.go":      "package smtp\n",
		"directory/zz_planted.go": "package directory\nimport _ \"database/sql\"\n",
		"message/zz_planted.go":   "package message\nimport _ \"" + module + "/store\"\n",
	}
	replace := map[string]string{}
	i := 0
	for path, body := range plant {
		src := filepath.Join(tmp, fmt.Sprintf("f%d.go", i))
		i++
		if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(root, path)] = src
	}
	ov, _ := json.Marshal(map[string]any{"Replace": replace})
	ovPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(violations(listPackages(t, root, ovPath)), "\n")
	for _, want := range []string{
		"front end imap imports front end smtp",
		"directory imports SQL package database/sql outside store/",
		"leaf message imports store",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("planted violation not reported: %q\nreported:\n%s", want, got)
		}
	}
}
