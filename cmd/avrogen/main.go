// Command avrogen writes the Avro schemas of the 26 Xero streams from Xero's OpenAPI spec.
//
//	go run ./cmd/avrogen --spec ../shared/xero/openapi/xero_accounting.yaml --out avro/schemas
//
// For each stream it writes <stream>-value.avsc, a record with every property of the stream's
// OpenAPI schema and of the schemas it refers to, and <stream>-key.avsc, the record of the tenant
// id and the primary key. The output is committed and embedded in the avro package; a golden test
// in this directory fails when the committed files differ from what this command produces.
// avro/README.md describes the type mapping.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	specPath := flag.String("spec", "", "path to Xero's xero_accounting.yaml (required)")
	out := flag.String("out", "avro/schemas", "directory to write the .avsc files to")
	flag.Parse()
	if *specPath == "" {
		fmt.Fprintln(os.Stderr, "avrogen: --spec is required")
		flag.Usage()
		os.Exit(2)
	}
	files, err := generate(*specPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "avrogen:", err)
		os.Exit(1)
	}
	if err := write(*out, files); err != nil {
		fmt.Fprintln(os.Stderr, "avrogen:", err)
		os.Exit(1)
	}
}

// write replaces the .avsc files in dir with files, removing those no longer generated.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.avsc"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if _, keep := files[filepath.Base(path)]; !keep {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("bad file name %q", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
