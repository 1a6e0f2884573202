package connector

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDefaultConfig: the defaults of Settings make a valid configuration, and a zero Config
// takes the same defaults.
func TestDefaultConfig(t *testing.T) {
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("DefaultConfig is not valid: %v", err)
	}
	filled, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d.DeadLetterTopic = d.TopicPrefix + ".dead_letters"
	d.Streams = filled.Streams
	if !reflect.DeepEqual(filled, d) {
		t.Errorf("a zero Config takes\n%+v\nDefaultConfig is\n%+v", filled, d)
	}
	if d.DayLimit != 5000 || d.Xero.DayLimit != d.DayLimit || d.FullTableInterval != 6*time.Hour {
		t.Errorf("day limit %d (client's estimate %d), full-table interval %s", d.DayLimit, d.Xero.DayLimit, d.FullTableInterval)
	}
	for _, s := range Settings() {
		if s.Required && s.Default != "" {
			t.Errorf("%s is required and has a default", s.Var)
		}
	}
}

// TestValidateNamesTheVariable: each error names the variable and the value.
func TestValidateNamesTheVariable(t *testing.T) {
	tests := []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.DayLimit = 0 }, "XERO_DAY_LIMIT=0: must be positive"},
		{func(c *Config) { c.Grant = "password" }, `XERO_GRANT="password": want refresh_token or client_credentials`},
		{func(c *Config) { c.Streams = []string{"widgets"} }, `XERO_STREAMS="widgets": unknown stream "widgets"`},
		{func(c *Config) { c.TopicPartitions = 0 }, "KAFKA_TOPIC_PARTITIONS=0: must be at least 1"},
		{func(c *Config) { c.Xero.APIURL = "api" }, `XERO_API_URL="api": not an http(s) URL`},
		{func(c *Config) { c.Tenants = []string{"acme"} }, `XERO_TENANT_ID="acme": not a tenant id`},
		{func(c *Config) { c.PollInterval = -time.Second }, "XERO_POLL_INTERVAL=-1s: must not be negative"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate: %v, want %q", err, tt.want)
		}
	}
}
