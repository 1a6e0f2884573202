package connector

import (
	"context"
	"log/slog"
)

// streamHandler names the (tenant, stream) of a poller's log lines. It adds them when a line is
// written, where slog.Logger.With would format them at once: a poller logs rarely, and 26,000
// pollers each holding its formatted attributes weighed about 430 bytes apiece.
type streamHandler struct {
	h              slog.Handler
	tenant, stream string
}

// streamLogger returns log's logger for the lines of (tenant, stream).
func streamLogger(log *slog.Logger, tenant, stream string) *slog.Logger {
	return slog.New(&streamHandler{h: log.Handler(), tenant: tenant, stream: stream})
}

func (h *streamHandler) attrs() []slog.Attr {
	return []slog.Attr{slog.String("tenant", h.tenant), slog.String("stream", h.stream)}
}

func (h *streamHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

// Handle writes r with the tenant and stream first, as With would have placed them.
func (h *streamHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(h.attrs()...)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *streamHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.h.WithAttrs(append(h.attrs(), as...))
}

func (h *streamHandler) WithGroup(name string) slog.Handler {
	return h.h.WithAttrs(h.attrs()).WithGroup(name)
}
