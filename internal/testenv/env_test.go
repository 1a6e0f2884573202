package testenv

import (
	"regexp"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "TestFencing", 60, "TestFencing"},
		{"subtest", "TestFencing/produce_then_commit", 60, "TestFencing-produce-then-commit"},
		{"runs of symbols", "Test//a  b..c", 60, "Test-a-b-c"},
		{"non-ASCII", "TestZoë", 60, "TestZo"},
		{"cut", "TestAbcdef", 5, "TestA"},
		{"no dash at the cut", "Test_abc", 5, "Test"},
		{"nothing left", "///", 60, "test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitize(tc.in, tc.max); got != tc.want {
				t.Errorf("sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	a, b := Prefix(t), Prefix(t)
	if a == b {
		t.Errorf("two calls gave the same prefix %q", a)
	}
	// Valid in topic names, group ids, transactional ids and subjects.
	valid := regexp.MustCompile(`^xk-TestPrefix-[0-9a-f]{8}$`)
	for _, p := range []string{a, b} {
		if !valid.MatchString(p) {
			t.Errorf("prefix %q does not match %s", p, valid)
		}
	}
	t.Run("long/sub test name", func(t *testing.T) {
		p := Prefix(t)
		if !strings.HasPrefix(p, "xk-TestPrefix-long-sub-test-name-") || len(p) > 3+60+1+8 {
			t.Errorf("prefix %q", p)
		}
	})
}
