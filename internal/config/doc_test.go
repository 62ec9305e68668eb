package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/config/docgen"
)

const docPath = "../../docs/configuration.md"

func TestConfigurationDocUpToDate(t *testing.T) {
	want, err := docgen.Generate(".")
	if err != nil {
		t.Fatalf("generating the configuration reference: %v", err)
	}
	got, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("%v: run go generate ./internal/config", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Errorf("docs/configuration.md is out of date: run go generate ./internal/config\n"+
			"first difference at line %d:\n  file:      %s\n  generated: %s", i+1, line(gl), line(wl))
	}
}

// TestExampleLoads keeps the example in docs/configuration.md working and
// complete: it must load, and it must set every key.
func TestExampleLoads(t *testing.T) {
	path := filepath.FromSlash(docgen.ExamplePath)
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	if c.DefaultDomain() != "example.org" {
		t.Errorf("example DefaultDomain = %q", c.DefaultDomain())
	}
	var tree map[string]any
	md, err := toml.DecodeFile(path, &tree)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(key []string, typ reflect.Type)
	walk = func(key []string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			k := append(key[:len(key):len(key)], name)
			if f.Type.Kind() == reflect.Struct {
				walk(k, f.Type)
				continue
			}
			if !md.IsDefined(k...) {
				t.Errorf("the example config does not set %s", strings.Join(k, "."))
			}
		}
	}
	walk(nil, reflect.TypeFor[config.Config]())
}
