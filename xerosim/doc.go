// Package xerosim is a simulator of the Xero Accounting API for tests, benchmarks and demos.
//
// It serves Xero's OAuth2 token endpoint, /connections and the 26 list endpoints the connector
// reads under /api.xro/2.0, with Xero's envelopes, paging modes, If-Modified-Since, ordering,
// dates, decimals, rate limits and error bodies. Data is generated from a seed, record by record,
// so a tenant of a million invoices costs a few dozen bytes of state per record; it can change
// continuously (creates, edits, voids, soft and hard deletes, archives, bulk imports) and the
// simulator can inject faults. /__sim/truth and Truth give the current records as the oracle
// for end-state tests; /__sim/stats and Stats count what clients did.
//
// Use New in tests (an httptest server on 127.0.0.1) or Handler to serve it on any listener.
// The package imports nothing from the rest of the project: it is an independent oracle.
package xerosim
