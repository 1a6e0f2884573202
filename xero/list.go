package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/xero-kafka/xero-kafka/internal/xerotime"
)

// ifModifiedSinceLayout is the If-Modified-Since format Xero documents: "A UTC timestamp
// (yyyy-mm-ddThh:mm:ss)", with no zone and no fraction of a second.
const ifModifiedSinceLayout = "2006-01-02T15:04:05"

// Request is one list call of the Accounting API.
type Request struct {
	// Tenant is the xero-tenant-id of the organisation to read.
	Tenant string
	// Path is the endpoint below the Accounting API base: "/Invoices".
	Path string
	// Wrapper is the key of the record array in the response: "Invoices".
	Wrapper string
	// Query holds the query parameters: page, pageSize, offset, order, unitdp, ...
	Query url.Values
	// ModifiedSince, when not zero, is sent as If-Modified-Since in UTC at second resolution
	// (2006-01-02T15:04:05, the form Xero documents). Fractions of a second are dropped, so
	// the header never lies after the time asked for: a record changed in that same second is
	// returned, not skipped.
	ModifiedSince time.Time
}

// Page is one list response.
type Page struct {
	// Records are the elements of the wrapper array, each a complete JSON object byte for
	// byte as Xero sent it, in response order. They are copied into a few blocks of about the
	// size of the response; each is capped, so appending to one copies it.
	Records []json.RawMessage
	// Pagination is the response's pagination object; nil when it has none.
	Pagination *Pagination
	// ServerTime is the envelope's DateTimeUTC: Xero's clock when it answered. Zero if absent.
	ServerTime time.Time
	// Limits are the X-*-Limit-Remaining headers of the response.
	Limits Limits
}

// Pagination is the pagination object of the endpoints that take pageSize.
type Pagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	ItemCount int `json:"itemCount"`
}

// List reads one response of an Accounting API list endpoint:
// GET Config.APIURL + "/api.xro/2.0" + req.Path + "?" + req.Query.
//
// The body is decoded as a stream: the records of the wrapper array are handed out as raw JSON,
// never decoded into maps. A 304 Not Modified is an empty page. A 200 without the wrapper
// array is an error; a body that ends early or is malformed repeats the call (at most
// Config.MaxAttempts times) and is never returned as a short page. Failures are *APIError or
// wrap what happened with the tenant, endpoint and page; see IsRetryable.
func (c *Client) List(ctx context.Context, req Request) (*Page, error) {
	cl := call{tenant: req.Tenant, endpoint: req.Path}
	cl.page, _ = strconv.Atoi(req.Query.Get("page"))
	switch {
	case req.Tenant == "":
		return nil, cl.wrap(errors.New("no tenant in the request"))
	case !strings.HasPrefix(req.Path, "/"):
		return nil, cl.wrap(fmt.Errorf("path %q does not start with /", req.Path))
	case req.Wrapper == "":
		return nil, cl.wrap(errors.New("no wrapper key in the request"))
	}
	u := c.cfg.APIURL + accountingPrefix + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	h := http.Header{}
	h.Set(tenantHeader, req.Tenant)
	if !req.ModifiedSince.IsZero() {
		h.Set("If-Modified-Since", req.ModifiedSince.UTC().Format(ifModifiedSinceLayout))
	}

	var page *Page
	err := c.do(ctx, cl, u, h, func(resp *http.Response) error {
		p := &Page{}
		if resp.StatusCode != http.StatusNotModified {
			var err error
			if p, err = decodePage(resp.Body, req.Wrapper, resp.ContentLength); err != nil {
				return err
			}
		}
		p.Limits = limitsFromHeader(resp.Header, c.clock.Now())
		page = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// decodePage reads a list response body as a stream of JSON tokens (jsontext, the syntax layer
// of encoding/json/v2): the envelope's keys one by one, and the wrapper array element by
// element, each copied as its raw bytes. sizeHint, the body's length if known (else -1),
// sizes the first block the records are copied to. Errors of the stream itself (an early end,
// bad syntax, a dropped connection) are *bodyError; a complete body of the wrong shape is a
// plain error.
func decodePage(body io.Reader, wrapper string, sizeHint int64) (*Page, error) {
	// Xero's records go through byte for byte: duplicate names and invalid UTF-8 are left for
	// the consumer to judge rather than failing the page.
	dec := jsontext.NewDecoder(body, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err := expectKind(dec, '{'); err != nil {
		return nil, err
	}
	var (
		p     Page
		found bool
		recs  = recordArena{next: int(min(max(sizeHint, 0), maxArenaBlock))}
	)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, &bodyError{err}
		}
		switch key := tok.String(); key {
		case wrapper:
			found = true
			if p.Records, err = readRecords(dec, &recs, p.Records[:0]); err != nil {
				return nil, err
			}
		case "pagination":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, &bodyError{fmt.Errorf("pagination: %w", err)}
			}
			if err := json.Unmarshal(v, &p.Pagination); err != nil {
				return nil, fmt.Errorf("pagination: %w", err)
			}
		case "DateTimeUTC":
			v, err := dec.ReadToken()
			if err != nil {
				return nil, &bodyError{fmt.Errorf("DateTimeUTC: %w", err)}
			}
			switch v.Kind() {
			case 'n': // null: no server time
			case '"':
				// The milliseconds plus the offset (internal/xerotime); "/Date(0+0000)/" is
				// no time.
				ms, err := xerotime.ParseMS(v.String())
				switch {
				case err == nil:
					p.ServerTime = time.UnixMilli(ms).UTC()
				case err != xerotime.ErrNoDate:
					return nil, fmt.Errorf("DateTimeUTC: %w", err)
				}
			default:
				return nil, fmt.Errorf("DateTimeUTC is %s, not a string", v.Kind())
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, &bodyError{err}
			}
		}
	}
	if err := expectKind(dec, '}'); err != nil {
		return nil, err
	}
	// Anything after the envelope means the body is not what it seems.
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, &bodyError{fmt.Errorf("data after the response object (%v)", err)}
	}
	if !found {
		return nil, fmt.Errorf("the response has no %q array", wrapper)
	}
	if p.Records == nil {
		p.Records = []json.RawMessage{}
	}
	return &p, nil
}

// readRecords reads the wrapper array (or null), appending a copy of each record to recs.
func readRecords(dec *jsontext.Decoder, arena *recordArena, recs []json.RawMessage) ([]json.RawMessage, error) {
	switch dec.PeekKind() {
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return nil, &bodyError{err}
		}
		return recs, nil // "Invoices": null
	case '[':
	case 0:
		_, err := dec.ReadToken() // the stream's error
		return nil, &bodyError{err}
	default:
		return nil, fmt.Errorf("the wrapper is %s, not an array", dec.PeekKind())
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, &bodyError{err}
	}
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return nil, &bodyError{err}
		}
		if v.Kind() != '{' {
			return nil, fmt.Errorf("record %d is %s, not a JSON object", len(recs)+1, v.Kind())
		}
		recs = append(recs, arena.copy(v))
	}
	if err := expectKind(dec, ']'); err != nil {
		return nil, err
	}
	return recs, nil
}

// Block sizes of recordArena: the body's length when known (up to the maximum), else the
// minimum; a record larger than a block gets a block of its own.
const (
	minArenaBlock = 64 << 10
	maxArenaBlock = 16 << 20
)

// recordArena copies the records of a page into a few large blocks instead of one allocation
// each. Blocks are never grown in place, so records already handed out stay where they are.
type recordArena struct {
	block []byte
	next  int // size of the next block; 0 means minArenaBlock
}

// copy returns a copy of v, capped so that appending to it cannot touch its neighbours.
func (a *recordArena) copy(v []byte) json.RawMessage {
	if cap(a.block)-len(a.block) < len(v) {
		a.block = make([]byte, 0, max(a.next, minArenaBlock, len(v)))
		a.next = minArenaBlock
	}
	start := len(a.block)
	a.block = append(a.block, v...)
	return json.RawMessage(a.block[start:len(a.block):len(a.block)])
}

// expectKind reads the next token and checks it is the delimiter k.
func expectKind(dec *jsontext.Decoder, k jsontext.Kind) error {
	tok, err := dec.ReadToken()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &bodyError{err}
	}
	if tok.Kind() != k {
		return &bodyError{fmt.Errorf("expected %s, found %s", k, tok.Kind())}
	}
	return nil
}
