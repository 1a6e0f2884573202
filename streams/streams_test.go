package streams

import (
	"regexp"
	"testing"
)

func TestTable(t *testing.T) {
	all := All()
	if len(all) != 26 {
		t.Fatalf("%d streams, want 26", len(all))
	}
	topicSafe := regexp.MustCompile(`^[a-z][a-z_]*$`)
	seen := map[string]bool{}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("duplicate name")
			}
			seen[s.Name] = true
			if !topicSafe.MatchString(s.Name) {
				t.Errorf("name %q is not a lower-case topic suffix", s.Name)
			}
			if s.Path == "" || s.Path[0] != '/' || s.Wrapper == "" || s.Schema == "" || s.PrimaryKey == "" {
				t.Errorf("incomplete definition: %+v", s)
			}
			switch s.Sync {
			case Keyset:
				if !s.ModifiedSince || !s.Ordered || s.ReplicationKey != "UpdatedDateUTC" {
					t.Errorf("keyset needs If-Modified-Since, order and UpdatedDateUTC: %+v", s)
				}
				if s.Paging == OffsetPaged {
					t.Errorf("keyset cannot page by offset")
				}
			case Offset:
				if s.Paging != OffsetPaged || s.ReplicationKey == "" {
					t.Errorf("offset sync needs offset paging and a replication key")
				}
			case Scan:
				if s.Paging == PageSize || s.Paging == PageOnly {
					if s.FilterParam == "" {
						t.Errorf("a multi-page scan needs a filter parameter to confirm deletions")
					}
				}
			default:
				t.Errorf("unknown sync %v", s.Sync)
			}
			if s.FullTable && (s.Sync != Scan || s.ReplicationKey != "") {
				t.Errorf("a full table is scanned and has no replication key")
			}
			if s.FullTable && s.ModifiedSince {
				t.Errorf("full tables take no If-Modified-Since")
			}
			got, ok := ByName(s.Name)
			if !ok || got.Path != s.Path {
				t.Errorf("ByName(%q) = %+v, %v", s.Name, got, ok)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	var full, removed int
	for _, s := range All() {
		if s.FullTable {
			full++
		}
		if s.Removed {
			removed++
		}
	}
	if full != 7 || removed != 1 {
		t.Errorf("%d full tables and %d removed streams, want 7 and 1", full, removed)
	}
}

func TestQueryIsACopy(t *testing.T) {
	s, _ := ByName("invoices")
	q := s.Query()
	if q.Get("unitdp") != "4" || q.Get("includeArchived") != "true" {
		t.Fatalf("invoices query = %v", q)
	}
	q.Set("unitdp", "2")
	if s2, _ := ByName("invoices"); s2.Query().Get("unitdp") != "4" {
		t.Fatalf("Query shares its map with the table")
	}
	if _, ok := ByName("nope"); ok {
		t.Fatalf("ByName found an unknown stream")
	}
}
