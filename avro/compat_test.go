package avro

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"
)

// releaseDir holds the schemas of the last release, the baseline every change must stay
// BACKWARD compatible with: consumers with the new schemas must read every record written with
// the old ones. At a release, copy avro/schemas/*.avsc here.
const releaseDir = "testdata/release"

// checkEvolution reports why records written with schema old cannot be read with schema cur:
// hamba's BACKWARD compatibility check (Avro's schema resolution), plus what Avro's resolution
// ignores but would change the meaning of the data: a logical type, a decimal's precision or
// scale. It returns nil when cur can replace old.
func checkEvolution(cur, old string) error {
	reader, err := hamba.ParseWithCache(cur, "", &hamba.SchemaCache{})
	if err != nil {
		return fmt.Errorf("parse the new schema: %w", err)
	}
	writer, err := hamba.ParseWithCache(old, "", &hamba.SchemaCache{})
	if err != nil {
		return fmt.Errorf("parse the old schema: %w", err)
	}
	if err := hamba.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		return err
	}
	return sameLogicalTypes(reader, writer, "", map[string]bool{})
}

// sameLogicalTypes walks the parts of two schemas that schema resolution matches (fields by name,
// union branches by type) and requires their logical types to be identical.
func sameLogicalTypes(r, w hamba.Schema, path string, seen map[string]bool) error {
	if ref, ok := r.(*hamba.RefSchema); ok {
		r = ref.Schema()
	}
	if ref, ok := w.(*hamba.RefSchema); ok {
		w = ref.Schema()
	}
	switch r := r.(type) {
	case *hamba.RecordSchema:
		w, ok := w.(*hamba.RecordSchema)
		if !ok || seen[r.FullName()] {
			return nil
		}
		seen[r.FullName()] = true
		for _, rf := range r.Fields() {
			for _, wf := range w.Fields() {
				if wf.Name() == rf.Name() {
					if err := sameLogicalTypes(rf.Type(), wf.Type(), path+"."+rf.Name(), seen); err != nil {
						return err
					}
				}
			}
		}
	case *hamba.UnionSchema:
		ws, ok := w.(*hamba.UnionSchema)
		if !ok {
			return sameLogicalTypes(unwrap(r), w, path, seen)
		}
		// Each writer branch is read by the reader branch of the same type, or else by one
		// it can be promoted to (int to long, bytes to string, ...).
		for _, wt := range ws.Types() {
			var match hamba.Schema
			for _, rt := range r.Types() {
				if rt.Type() == wt.Type() {
					match = rt
					break
				}
			}
			for _, rt := range r.Types() {
				if match == nil && promotable[[2]hamba.Type{wt.Type(), rt.Type()}] {
					match = rt
				}
			}
			if match == nil {
				continue
			}
			if err := sameLogicalTypes(match, wt, path, seen); err != nil {
				return err
			}
		}
	case *hamba.ArraySchema:
		if w, ok := w.(*hamba.ArraySchema); ok {
			return sameLogicalTypes(r.Items(), w.Items(), path+"[]", seen)
		}
	case *hamba.PrimitiveSchema:
		if w, ok := w.(*hamba.PrimitiveSchema); ok && (r.Type() != w.Type() || logicalOf(r) != logicalOf(w)) && (r.Logical() != nil || w.Logical() != nil) {
			return fmt.Errorf("%s: %s (%s) was %s (%s)", strings.TrimPrefix(path, "."), r.Type(), logicalOf(r), w.Type(), logicalOf(w))
		}
	}
	return nil
}

// promotable lists the writer → reader type promotions of Avro's schema resolution.
var promotable = map[[2]hamba.Type]bool{
	{hamba.Int, hamba.Long}: true, {hamba.Int, hamba.Float}: true, {hamba.Int, hamba.Double}: true,
	{hamba.Long, hamba.Float}: true, {hamba.Long, hamba.Double}: true, {hamba.Float, hamba.Double}: true,
	{hamba.String, hamba.Bytes}: true, {hamba.Bytes, hamba.String}: true,
}

func logicalOf(s *hamba.PrimitiveSchema) string {
	if s.Logical() == nil {
		return "none"
	}
	return s.Logical().String()
}

// TestBackwardCompatibleWithRelease checks every committed schema against the last release.
func TestBackwardCompatibleWithRelease(t *testing.T) {
	released, err := filepath.Glob(filepath.Join(releaseDir, "*.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	if len(released) == 0 {
		t.Fatal("no release baseline in " + releaseDir)
	}
	for _, path := range released {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := schemaFiles.ReadFile("schemas/" + name)
			if err != nil {
				t.Fatalf("a released schema is gone: %v", err)
			}
			if err := checkEvolution(string(cur), string(old)); err != nil {
				t.Errorf("not BACKWARD compatible with the last release: %v", err)
			}
		})
	}
}

// TestEvolutionCheckCatchesBreaks proves the check above can fail: each change here would break
// consumers, and each must be reported.
func TestEvolutionCheckCatchesBreaks(t *testing.T) {
	old, err := os.ReadFile(filepath.Join(releaseDir, "invoices-value.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(top map[string]any)
	}{
		{"a new field without a default", func(top map[string]any) {
			addField(top, map[string]any{"name": "Added", "type": "string"})
		}},
		{"a nullable field made required", func(top map[string]any) {
			f := field(t, top, "InvoiceNumber")
			f["type"] = "string"
			delete(f, "default")
		}},
		{"a decimal made a string", func(top map[string]any) {
			field(t, top, "Total")["type"] = []any{"null", "string"}
		}},
		{"a decimal's scale changed", func(top map[string]any) {
			union := field(t, top, "Total")["type"].([]any)
			union[1].(map[string]any)["scale"] = 2
		}},
		{"a date made a timestamp", func(top map[string]any) {
			union := field(t, top, "DueDate")["type"].([]any)
			union[1] = map[string]any{"type": "long", "logicalType": "timestamp-millis"}
		}},
		{"a long made an int", func(top map[string]any) {
			// _extracted_at is the only non-union long at the top.
			field(t, top, "_extracted_at")["type"] = "int"
		}},
		{"a record renamed", func(top map[string]any) {
			top["name"] = "Bill"
		}},
	}
	if err := checkEvolution(string(old), string(old)); err != nil {
		t.Fatalf("a schema is not compatible with itself: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var top map[string]any
			if err := json.Unmarshal(old, &top); err != nil {
				t.Fatal(err)
			}
			tt.change(top)
			cur, err := json.Marshal(top)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkEvolution(string(cur), string(old)); err == nil {
				t.Error("the breaking change was not caught")
			}
		})
	}

	// Adding a nullable field with a default, the way new Xero fields arrive, is fine.
	var top map[string]any
	if err := json.Unmarshal(old, &top); err != nil {
		t.Fatal(err)
	}
	addField(top, map[string]any{"name": "AddedByXero", "type": []any{"null", "string"}, "default": nil})
	cur, _ := json.Marshal(top)
	if err := checkEvolution(string(cur), string(old)); err != nil {
		t.Errorf("adding a nullable field with a default was refused: %v", err)
	}
}

func field(tb testing.TB, record map[string]any, name string) map[string]any {
	tb.Helper()
	for _, f := range record["fields"].([]any) {
		if f := f.(map[string]any); f["name"] == name {
			return f
		}
	}
	tb.Fatalf("no field %s", name)
	return nil
}

func addField(record map[string]any, f map[string]any) {
	record["fields"] = append(record["fields"].([]any), f)
}
