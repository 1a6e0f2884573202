"""Decode Avro binaries with Apache Avro's Python implementation, for TestInterop.

Usage: python decode.py CASES.json

CASES.json is a list of {"schema": PATH, "data": PATH}: a schema file and a file holding one
Avro-encoded value of it (no container, no wire header). The script prints a JSON list with the
decoded value of each case, in a form JSON can carry: decimals as plain decimal strings
("-12.3400"), dates as "YYYY-MM-DD", timestamps as integer milliseconds since the epoch (UTC).
"""

import datetime
import decimal
import io
import json
import sys

import avro.io
import avro.schema

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    """Turn a decoded datum into JSON-friendly values."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("a timestamp without a time zone: %r" % value)
        delta = value - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        raise ValueError("unexpected bytes value %r" % value)
    return value


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    schemas = {}
    out = []
    for case in cases:
        path = case["schema"]
        if path not in schemas:
            with open(path, encoding="utf-8") as f:
                schemas[path] = avro.schema.parse(f.read())
        schema = schemas[path]
        with open(case["data"], "rb") as f:
            data = f.read()
        buf = io.BytesIO(data)
        datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buf))
        if buf.tell() != len(data):
            raise ValueError("%s: %d bytes left after the value" % (case["data"], len(data) - buf.tell()))
        out.append(plain(datum))
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
