package xero

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// newBaseTransport is the innermost layer: net/http with bounded dial and TLS handshake (the
// wait for the response is bounded by timeoutTransport). Keep-alive connections are shared by
// all tenants (one API host).
func newBaseTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// timeoutTransport gives each attempt a deadline of timeout, covering the response body too: a
// server that sends headers and then stalls mid-body fails the attempt instead of hanging the
// call. A deadline that passes while the caller's own context is live becomes an
// *attemptTimeoutError, which is retryable; the caller's cancellation stays what it is.
type timeoutTransport struct {
	inner   http.RoundTripper
	timeout time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, t.explain(parent, ctx, err)
	}
	resp.Body = &timeoutBody{ReadCloser: resp.Body, t: t, parent: parent, ctx: ctx, cancel: cancel}
	return resp, nil
}

// explain replaces the error of an attempt cut by its own deadline.
func (t *timeoutTransport) explain(parent, ctx context.Context, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &attemptTimeoutError{timeout: t.timeout}
	}
	return err
}

// timeoutBody ends the attempt's deadline when the body is closed.
type timeoutBody struct {
	io.ReadCloser
	t           *timeoutTransport
	parent, ctx context.Context
	cancel      context.CancelFunc
}

func (b *timeoutBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.t.explain(b.parent, b.ctx, err)
	}
	return n, err
}

func (b *timeoutBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
