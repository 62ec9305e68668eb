// Command gen writes docs/configuration.md from package config. Run it with
// `go generate ./internal/config` (or `go run ./internal/config/gen`) from
// anywhere in the module.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/config/docgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	doc, err := docgen.Generate(filepath.Join(root, "internal", "config"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "docs", "configuration.md"), doc, 0o644)
}

// moduleRoot is the nearest directory at or above the working directory that
// holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
