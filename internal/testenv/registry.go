package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Registry returns the base URL of a Confluent-compatible Schema Registry: the real one when
// XK_SCHEMA_REGISTRY_URL is set, else a new srfake registry (with QuickRegistrations) that is
// closed when the test ends.
func Registry(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvRegistryURL); u != "" {
		return u
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	QuickRegistrations(reg)
	return reg.URL()
}

// QuickRegistrations makes reg answer the registrations of a start cheaply, with the answers
// srfake would give. srfake compares a schema it is asked to register with every schema it
// holds, each comparison a JSON round trip of both texts; the connector's value schemas are up
// to 200 kB, so one start (52 subjects) cost seconds of CPU under the race detector, and half of
// some tests' time. Here a registration of an Avro schema without references is answered from
// what this registry was given before:
//   - the same text (up to JSON whitespace) under the same subject, still registered: its id;
//   - a new subject, with a text no subject has: a new id, as version 1 (srfake's SeedSchema).
//
// Every other registration (a text another subject has, whose id srfake reuses; a new version;
// references; other schema types; anything malformed) goes to srfake, one at a time, and the ids
// it gives are noted so that a new id never collides with one of its own.
func QuickRegistrations(reg *srfake.Registry) {
	q := &quickRegistrations{reg: reg, nextID: 1, ids: map[string]int{}, subjects: map[string]map[string]seeded{}}
	reg.Intercept(q.intercept)
}

type quickRegistrations struct {
	reg *srfake.Registry

	mu       sync.Mutex
	nextID   int                          // above every id the registry has given
	ids      map[string]int               // compact schema text → id
	subjects map[string]map[string]seeded // subject → compact schema text → what was seeded
}

type seeded struct{ id, version int }

// passedOn marks a request that the interceptor hands to srfake itself.
type passedOn struct{}

func (q *quickRegistrations) intercept(w http.ResponseWriter, req *http.Request) bool {
	if req.Method != http.MethodPost || req.Context().Value(passedOn{}) != nil {
		return false
	}
	subject, ok := strings.CutPrefix(req.URL.Path, "/subjects/")
	if !ok || req.URL.RawQuery != "" {
		return false
	}
	if subject, ok = strings.CutSuffix(subject, "/versions"); !ok {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return false
	}
	req.Body = io.NopCloser(bytes.NewReader(body))

	q.mu.Lock()
	defer q.mu.Unlock()
	var s sr.Schema
	var text bytes.Buffer
	if subject == "" || strings.ContainsAny(subject, "/:\x00") || len(subject) > 255 ||
		decodeStrict(body, &s) != nil || len(s.References) > 0 || (s.Type != 0 && s.Type != sr.TypeAvro) ||
		json.Compact(&text, []byte(s.Schema)) != nil {
		q.passOn(w, req, "")
		return true
	}
	key := text.String()
	if v, ok := q.subjects[subject][key]; ok {
		if _, live := q.reg.GetSchema(subject, v.version); live {
			respondID(w, v.id)
			return true
		}
		delete(q.subjects[subject], key)
	}
	if _, shared := q.ids[key]; shared || q.reg.SubjectExists(subject) {
		q.passOn(w, req, key)
		return true
	}
	id := q.nextID
	q.nextID++
	q.reg.SeedSchema(subject, 1, id, s)
	q.ids[key] = id
	q.subjects[subject] = map[string]seeded{key: {id: id, version: 1}}
	respondID(w, id)
	return true
}

// passOn has srfake answer req, and notes the id it gives for the schema text key.
func (q *quickRegistrations) passOn(w http.ResponseWriter, req *http.Request, key string) {
	rec := httptest.NewRecorder()
	q.reg.Handler().ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), passedOn{}, true)))
	var answer struct {
		ID int `json:"id"`
	}
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &answer) == nil && answer.ID > 0 {
		q.nextID = max(q.nextID, answer.ID+1)
		if _, ok := q.ids[key]; !ok && key != "" {
			q.ids[key] = answer.ID
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// decodeStrict decodes one JSON object with no field v does not have, as srfake reads a request.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

func respondID(w http.ResponseWriter, id int) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	_ = json.NewEncoder(w).Encode(map[string]int{"id": id})
}

// RestartRegistry stops the real registry and starts it again, with the services script (or
// XK_REGISTRY_RESTART). Only the real registry can be restarted: on srfake the test is
// skipped. The registry must come back with every schema it had.
func RestartRegistry(t testing.TB) {
	t.Helper()
	if !RealRegistry() {
		t.Skip("srfake keeps its schemas only in the test's memory: a restart is a real registry's")
	}
	var cmd *exec.Cmd
	if c := os.Getenv(EnvRegistryRestart); c != "" {
		cmd = exec.CommandContext(t.Context(), "bash", "-c", c)
	} else {
		cmd = exec.CommandContext(t.Context(), "bash", filepath.Join(RepoRoot(t), "scripts", "services.sh"), "restart", "registry")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restart the registry (%s): %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	t.Logf("restarted the registry:\n%s", strings.TrimSpace(string(out)))
}

// registryTimeout bounds one request of a test's registry client: a safety net, not a
// performance bound. franz-go's default, 5 s, is shorter than srfake's answers can take on a
// loaded machine under the race detector, and each timeout costs a connector a setup retry
// after a growing wait.
const registryTimeout = time.Minute

// RegistryClient returns a franz-go Schema Registry client of the registry at url. Its
// connections are closed when the test ends: a real registry outlives the test, and would keep
// an idle connection (and its goroutines) open.
func RegistryClient(t testing.TB, url string) *sr.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cl, err := sr.NewClient(sr.URLs(url), sr.HTTPClient(&http.Client{Transport: tr, Timeout: registryTimeout}))
	if err != nil {
		t.Fatalf("schema registry client for %s: %v", url, err)
	}
	return cl
}
