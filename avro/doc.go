// Package avro turns Xero's JSON records into Avro, exactly: the schemas of the 26 streams
// (generated from Xero's OpenAPI spec by cmd/avrogen and embedded), a transcoder from one
// record's JSON to the Avro binary of its schema, and their registration with a Schema Registry.
//
// A Codec per stream is built once at startup (NewCodec); it holds the schema texts and a plan
// of every record, field and type, so that transcoding a record walks the plan and the JSON bytes
// without reflection, maps or intermediate values. Numbers are read from their text into Avro
// decimals and never pass through float64; dates and timestamps are read from Xero's
// "/Date(ms±hhmm)/" form (the milliseconds plus the offset) or ISO-8601, by internal/xerotime. A
// value that does not fit its schema is an error naming the stream and the field (*FieldError),
// never a silent rounding or truncation, and fields the schema does not know are kept, as JSON, in
// the _unknown_fields field of the record they appear in, with any empty value of another type
// ("", {}, []) that was written as null.
//
// README.md in this directory describes the type mapping, the decimal sizes, the handling of
// unknown fields, how the schemas are regenerated and how their evolution is checked.
package avro
