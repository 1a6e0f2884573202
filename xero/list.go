package xero

import (
	"bytes"
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
	// Fields names top-level fields of the records whose raw values List reads while it splits
	// the page (Page.Fields), so that the caller need not parse each record again to find them.
	Fields []string
	// ModifiedSince, when not zero, is sent as If-Modified-Since in UTC at second resolution
	// (2006-01-02T15:04:05, the form Xero documents). Fractions of a second are dropped, so
	// the header never lies after the time asked for: a record changed in that same second is
	// returned, not skipped.
	ModifiedSince time.Time
}

// Page is one list response.
type Page struct {
	// Records are the elements of the wrapper array, each a complete JSON object byte for
	// byte as Xero sent it, in response order. Their syntax is valid JSON (RFC 8259); their
	// strings may hold invalid UTF-8 and their objects duplicate names, which are left for the
	// consumer to judge. They share one buffer the size of the response body; each is capped,
	// so appending to one copies it.
	Records []json.RawMessage
	// values holds the raw values of the request's Fields: record i's are
	// values[i*nfields:(i+1)*nfields]. See Fields.
	values  []json.RawMessage
	nfields int
	// Pagination is the response's pagination object; nil when it has none.
	Pagination *Pagination
	// ServerTime is the envelope's DateTimeUTC: Xero's clock when it answered. Zero if absent.
	ServerTime time.Time
	// Limits are the X-*-Limit-Remaining headers of the response.
	Limits Limits
}

// Fields returns the raw values of the request's Fields in record i, in the order of the
// request: the value of the first member of that name (as encoding/json and gjson read
// duplicates), or nil where the record has no such member. A name is compared after
// unescaping. It returns nil when the request named no fields or the page was built without
// them.
func (p *Page) Fields(i int) []json.RawMessage {
	if p.nfields == 0 || len(p.values) < (i+1)*p.nfields {
		return nil
	}
	return p.values[i*p.nfields : (i+1)*p.nfields : (i+1)*p.nfields]
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
			if p, err = decodePage(resp.Body, req.Wrapper, resp.ContentLength, req.Fields...); err != nil {
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

// DecodePage reads body, a whole list response held in memory, as List reads the body of a 200:
// the records of the wrapper array, the values of fields in each (Page.Fields), the pagination
// and the server time. Errors say what is wrong with the body.
func DecodePage(body []byte, wrapper string, fields ...string) (*Page, error) {
	return decodePage(bytes.NewReader(body), wrapper, int64(len(body)), fields...)
}

// decodePage reads a list response body into one buffer of its size, then walks it as JSON
// tokens (jsontext, the syntax layer of encoding/json/v2): the envelope's keys one by one, and
// the wrapper array element by element. Records are handed out as slices of that buffer, and the
// values of the top-level members named by fields are found as each record is split off. sizeHint is the body's
// length if known (else -1). Errors of the stream itself (an early end, bad syntax, a dropped
// connection) are *bodyError; a complete body of the wrong shape is a plain error.
func decodePage(body io.Reader, wrapper string, sizeHint int64, fields ...string) (*Page, error) {
	buf, err := readBody(body, sizeHint)
	if err != nil {
		return nil, &bodyError{err}
	}
	// Xero's records go through byte for byte: duplicate names and invalid UTF-8 are left for
	// the consumer to judge rather than failing the page. A decoder on a *bytes.Buffer parses
	// the buffer in place, so its input offsets are indexes into buf.
	dec := jsontext.NewDecoder(bytes.NewBuffer(buf), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err := expectKind(dec, '{'); err != nil {
		return nil, err
	}
	var (
		p     = Page{nfields: len(fields)}
		found bool
	)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, &bodyError{err}
		}
		switch key := tok.String(); key {
		case wrapper:
			found = true
			r := recordReader{dec: dec, buf: buf, fields: fields}
			if err := r.read(&p); err != nil {
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

// readBody reads a whole body into a buffer of its size: exactly size bytes when the length is
// known, else grown as it comes and copied to its length if growing left much unused.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size >= 0 {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		// The transport ends the body at its Content-Length; anything else sends more.
		var more [1]byte
		if n, err := r.Read(more[:]); n > 0 || (err != nil && err != io.EOF) {
			return nil, fmt.Errorf("body longer than its length of %d bytes (%v)", size, err)
		}
		return buf, nil
	}
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if cap(buf)-len(buf) > len(buf)/8 {
		buf = bytes.Clone(buf)
	}
	return buf, nil
}

// recordReader reads the wrapper array of a page held in buf.
type recordReader struct {
	dec    *jsontext.Decoder
	buf    []byte
	fields []string
	// name is scratch space for unescaping member names.
	name []byte
}

// read reads the wrapper array (or null) into p.Records, and the values of r.fields into
// p.values.
func (r *recordReader) read(p *Page) error {
	dec := r.dec
	switch dec.PeekKind() {
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return &bodyError{err}
		}
		return nil // "Invoices": null
	case '[':
	case 0:
		_, err := dec.ReadToken() // the stream's error
		return &bodyError{err}
	default:
		return fmt.Errorf("the wrapper is %s, not an array", dec.PeekKind())
	}
	if _, err := dec.ReadToken(); err != nil {
		return &bodyError{err}
	}
	for dec.PeekKind() != ']' {
		if k := dec.PeekKind(); k != '{' {
			if k == 0 {
				_, err := dec.ReadToken() // the stream's error
				return &bodyError{err}
			}
			return fmt.Errorf("record %d is %s, not a JSON object", len(p.Records)+1, k)
		}
		v, err := dec.ReadValue()
		if err != nil {
			return &bodyError{err}
		}
		rec := r.slice(len(v))
		p.Records = append(p.Records, rec)
		if len(r.fields) > 0 {
			n := len(p.values)
			p.values = append(p.values, make([]json.RawMessage, len(r.fields))...)
			r.find(rec, p.values[n:])
		}
	}
	return expectKind(dec, ']')
}

// find stores in vals the first value of each of r.fields among the top-level members of rec,
// an object the decoder has just checked, and stops as soon as it has them all: the keys a
// connector asks for come early in Xero's records, so most of each record is not looked at
// again.
func (r *recordReader) find(rec []byte, vals []json.RawMessage) {
	left := len(vals)
	i := 1 // after the {
	for left > 0 {
		i = skipSpace(rec, i)
		switch rec[i] {
		case '}':
			return
		case ',':
			i = skipSpace(rec, i+1)
		}
		end := stringEnd(rec, i)
		name := rec[i:end]
		i = skipSpace(rec, skipSpace(rec, end)+1) // past the colon
		vend := valueEnd(rec, i)
		if j := r.field(name); j >= 0 && vals[j] == nil {
			vals[j] = rec[i:vend:vend]
			left--
		}
		i = vend
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index after the string that begins at b[i], a quote, in valid JSON. It
// jumps from quote to quote: a quote ends the string unless an odd number of backslashes
// precede it.
func stringEnd(b []byte, i int) int {
	for j := i + 1; ; j++ {
		j += bytes.IndexByte(b[j:], '"')
		k := j - 1
		for b[k] == '\\' {
			k--
		}
		if (j-1-k)%2 == 0 {
			return j + 1
		}
	}
}

// structural marks the bytes valueEnd stops at inside an object or array.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// valueEnd returns the index after the value that begins at b[i], in valid JSON.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		for depth := 0; ; {
			for !structural[b[i]] {
				i++
			}
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
		i++
	}
	return i
}

// slice returns the n bytes before the decoder's offset (the value just read) as a capped
// slice of the body.
func (r *recordReader) slice(n int) json.RawMessage {
	end := int(r.dec.InputOffset())
	return json.RawMessage(r.buf[end-n : end : end])
}

// field returns the index in r.fields of the quoted member name, or -1.
func (r *recordReader) field(quoted []byte) int {
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		// Escaped: compare what it stands for. The decoder has checked the escapes, so an
		// error here is invalid UTF-8, which no field name contains.
		var err error
		if r.name, err = jsontext.AppendUnquote(r.name[:0], quoted); err != nil {
			return -1
		}
		name = r.name
	}
	for j, f := range r.fields {
		if string(name) == f {
			return j
		}
	}
	return -1
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
