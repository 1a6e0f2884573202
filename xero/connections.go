package xero

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// connectionTimeLayout is the form of the dates of /connections: 7 fraction digits and no zone
// ("2020-03-18T21:20:07.7179250"), which are UTC.
const connectionTimeLayout = "2006-01-02T15:04:05.9999999"

// Connection is one organisation (tenant) the app is connected to.
type Connection struct {
	ID             string    // the connection's id
	TenantID       string    // the value for xero-tenant-id
	TenantType     string    // "ORGANISATION", "PRACTICE", ...
	TenantName     string    // the organisation's name; may be empty in older connections
	AuthEventID    string    // the authorisation that created the connection
	CreatedDateUTC time.Time // UTC
	UpdatedDateUTC time.Time // UTC
}

// Connections lists the tenants the app is connected to: GET Config.APIURL + "/connections",
// with no tenant header.
func (c *Client) Connections(ctx context.Context) ([]Connection, error) {
	cl := call{endpoint: connectionsPath}
	var conns []Connection
	err := c.do(ctx, cl, c.cfg.APIURL+connectionsPath, http.Header{}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("unexpected status %d", resp.StatusCode)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return &bodyError{err}
		}
		var raw []struct {
			ID          string `json:"id"`
			TenantID    string `json:"tenantId"`
			TenantType  string `json:"tenantType"`
			TenantName  string `json:"tenantName"`
			AuthEventID string `json:"authEventId"`
			Created     string `json:"createdDateUtc"`
			Updated     string `json:"updatedDateUtc"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return &bodyError{err}
		}
		conns = make([]Connection, 0, len(raw))
		for _, r := range raw {
			conn := Connection{ID: r.ID, TenantID: r.TenantID, TenantType: r.TenantType, TenantName: r.TenantName, AuthEventID: r.AuthEventID}
			if conn.CreatedDateUTC, err = parseConnectionTime(r.Created); err != nil {
				return fmt.Errorf("connection %s: createdDateUtc: %w", r.ID, err)
			}
			if conn.UpdatedDateUTC, err = parseConnectionTime(r.Updated); err != nil {
				return fmt.Errorf("connection %s: updatedDateUtc: %w", r.ID, err)
			}
			conns = append(conns, conn)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conns, nil
}

// parseConnectionTime parses a /connections date: no zone means UTC; a value that does carry
// a zone (RFC 3339) is accepted too. Empty is the zero time.
func parseConnectionTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(connectionTimeLayout, s, time.UTC); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date", s)
	}
	return t.UTC(), nil
}
