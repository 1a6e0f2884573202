package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// TestQuickRegistrationsAnswerAsSrfake makes the same requests of a plain srfake registry and
// of one with QuickRegistrations, and wants the same answers: ids, versions, schemas and errors.
func TestQuickRegistrationsAnswerAsSrfake(t *testing.T) {
	const (
		key    = `{"type":"record","name":"K","fields":[{"name":"ID","type":"string"}]}`
		keyWS  = "{\"type\": \"record\",\n \"name\": \"K\", \"fields\": [{\"name\": \"ID\", \"type\": \"string\"}]}"
		value1 = `{"type":"record","name":"V","fields":[{"name":"A","type":"long"}]}`
		value2 = `{"type":"record","name":"V","fields":[{"name":"A","type":"long"},{"name":"B","type":["null","string"],"default":null}]}`
		other  = `{"type":"record","name":"W","fields":[{"name":"C","type":"double"}]}`
	)
	steps := []struct{ subject, schema string }{
		{"a-key", key},
		{"a-value", value1},
		{"a-value", value1}, // again: the same id
		{"a-key", keyWS},    // the same text up to whitespace
		{"b-key", key},      // another subject with the same schema: srfake gives it the same id
		{"b-value", other},
		{"a-value", value2}, // a new version
		{"a-value", value1}, // an old version again
		{"c-value", value2},
		{"d-value", `{"type":`},  // not JSON
		{"", value1},             // no subject
		{"e-value", `"string"`},  // a primitive schema
		{"e-value", `"string" `}, // again
	}
	run := func(quick bool) []string {
		reg := srfake.New()
		t.Cleanup(reg.Close)
		if quick {
			QuickRegistrations(reg)
		}
		cl := RegistryClient(t, reg.URL())
		ctx := context.Background()
		var out []string
		for _, s := range steps {
			id, err := cl.RegisterSchema(ctx, s.subject, sr.Schema{Schema: s.schema, Type: sr.TypeAvro}, -1, -1)
			var re *sr.ResponseError
			if errors.As(err, &re) {
				out = append(out, fmt.Sprintf("register %q: error %d (HTTP %d)", s.subject, re.ErrorCode, re.StatusCode))
				continue
			}
			if err != nil {
				t.Fatalf("register %q: %v", s.subject, err)
			}
			out = append(out, fmt.Sprintf("register %q: id %d", s.subject, id))
		}
		subjects, err := cl.Subjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(subjects)
		for _, subject := range subjects {
			versions, err := cl.SubjectVersions(ctx, subject)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range versions {
				ss, err := cl.SchemaByVersion(ctx, subject, v)
				if err != nil {
					t.Fatal(err)
				}
				byID, err := cl.SchemaByID(ctx, ss.ID)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%s v%d: id %d, %s; by id: %s", subject, v, ss.ID, ss.Schema.Schema, byID.Schema))
			}
		}
		return out
	}
	plain, quick := run(false), run(true)
	if !slices.Equal(plain, quick) {
		t.Errorf("answers differ:\nsrfake:\n  %s\nwith QuickRegistrations:\n  %s", join(plain), join(quick))
	}
	if len(plain) < len(steps)+5 {
		t.Errorf("%d answers, too few to compare:\n  %s", len(plain), join(plain))
	}
}

func join(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}
