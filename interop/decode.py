#!/usr/bin/env python3
"""Read Kafka topics as an independent consumer would, and print every record as JSON.

It reads the given topics from the beginning to the end with isolation.level=read_committed
(librdkafka via confluent-kafka), decodes keys and values written in the Confluent wire format
(magic byte 0, 4-byte big-endian schema id, Avro binary) with the writer schema fetched by id
from a Confluent-compatible Schema Registry (fastavro), and writes one JSON object per record:

    {"topic": ..., "partition": ..., "offset": ..., "key": ..., "value": ..., "headers": [...]}

sorted by topic, partition and offset. Values are rendered so that a test can compare them
exactly:

    decimal (bytes or fixed)       "1234.5600": the exact digits at the schema's scale
    timestamp-millis / -micros     "2024-03-01T12:34:56.789Z" / "...56.789123Z" (UTC)
    local-timestamp-millis/-micros the same without the "Z"
    date                           "2024-03-01"
    time-millis / time-micros      "12:34:56.789" / "12:34:56.789123"
    bytes, fixed                   base64 (standard alphabet, padded)
    float, double                  JSON numbers; NaN and infinities as "NaN", "Infinity", "-Infinity"
    long                           JSON integers, exact
    unions                         the bare value of the branch (no {"type": value} wrapper)
    null value (tombstone)         null

Header values are UTF-8 strings (null for a header without a value).

The end of a partition is where librdkafka reports end-of-partition: under read_committed that is
the last stable offset, so records of a transaction still open are not read. Any error (a topic
that does not exist, a record that cannot be decoded, the timeout) prints a message to stderr and
exits with status 1.

Usage:
    decode.py --brokers 127.0.0.1:19092 --registry http://127.0.0.1:18081/apis/ccompat/v7 \
        [--keys avro|string|bytes] [--output FILE] [--timeout SECONDS] TOPIC...
"""

import argparse
import base64
import datetime
import io
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request

import fastavro
import fastavro.read
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

EPOCH_DATE = datetime.date(1970, 1, 1)


class DecodeError(Exception):
    pass


# Logical types, rendered straight to their text form by fastavro's reader hooks.


def _date(days):
    return (EPOCH_DATE + datetime.timedelta(days=days)).isoformat()


def _timestamp(value, per_second, digits, zone):
    seconds, fraction = divmod(value, per_second)  # floor division: right for negative epochs
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return "%sT%02d:%02d:%02d.%0*d%s" % (_date(days), hours, minutes, seconds, digits, fraction, zone)


def _time(value, per_second, digits):
    seconds, fraction = divmod(value, per_second)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return "%02d:%02d:%02d.%0*d" % (hours, minutes, seconds, digits, fraction)


def _decimal(data, writer_schema, reader_schema):
    scale = int(writer_schema.get("scale", 0))
    unscaled = int.from_bytes(data, "big", signed=True)
    digits = str(abs(unscaled))
    if scale > 0:
        digits = digits.rjust(scale + 1, "0")
        digits = digits[:-scale] + "." + digits[-scale:]
    return ("-" if unscaled < 0 else "") + digits


fastavro.read.LOGICAL_READERS.update(
    {
        "bytes-decimal": _decimal,
        "fixed-decimal": _decimal,
        "int-date": lambda v, w, r: _date(v),
        "int-time-millis": lambda v, w, r: _time(v, 1000, 3),
        "long-time-micros": lambda v, w, r: _time(v, 1000000, 6),
        "long-timestamp-millis": lambda v, w, r: _timestamp(v, 1000, 3, "Z"),
        "long-timestamp-micros": lambda v, w, r: _timestamp(v, 1000000, 6, "Z"),
        "long-local-timestamp-millis": lambda v, w, r: _timestamp(v, 1000, 3, ""),
        "long-local-timestamp-micros": lambda v, w, r: _timestamp(v, 1000000, 6, ""),
        "string-uuid": lambda v, w, r: v,
    }
)


def to_json(value):
    """Turns what fastavro decoded into plain JSON values."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    return value


class Registry:
    """Fetches writer schemas by id from a Confluent-compatible registry, once each."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.schemas = {}

    def schema(self, schema_id):
        if schema_id not in self.schemas:
            self.schemas[schema_id] = self._fetch(schema_id)
        return self.schemas[schema_id]

    def _fetch(self, schema_id):
        url = "%s/schemas/ids/%d" % (self.url, schema_id)
        req = urllib.request.Request(url, headers={"Accept": "application/vnd.schemaregistry.v1+json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            raise DecodeError("GET %s: HTTP %d: %s" % (url, e.code, e.read()[:300].decode("utf-8", "replace")))
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise DecodeError("GET %s: %s" % (url, e))
        kind = body.get("schemaType", "AVRO")
        if kind != "AVRO":
            raise DecodeError("schema %d is %s, not AVRO" % (schema_id, kind))
        if body.get("references"):
            raise DecodeError("schema %d has references, which this decoder does not follow" % schema_id)
        try:
            return fastavro.parse_schema(json.loads(body["schema"]))
        except Exception as e:  # fastavro raises several kinds for a bad schema
            raise DecodeError("parse schema %d: %s" % (schema_id, e))


def decode_avro(registry, data):
    """Decodes one Confluent-framed Avro payload."""
    if len(data) < 5 or data[0] != 0:
        raise DecodeError("not in the Confluent wire format (%d bytes, first byte %r)" % (len(data), data[:1]))
    schema_id = int.from_bytes(data[1:5], "big")
    schema = registry.schema(schema_id)
    body = io.BytesIO(data[5:])
    try:
        value = fastavro.schemaless_reader(body, schema, None)
    except Exception as e:
        raise DecodeError("decode with schema %d: %s" % (schema_id, e))
    left = len(data) - 5 - body.tell()
    if left:
        raise DecodeError("%d bytes left after decoding with schema %d" % (left, schema_id))
    return to_json(value)


def decode_key(mode, registry, key):
    if key is None:
        return None
    if mode == "avro":
        return decode_avro(registry, key)
    if mode == "string":
        try:
            return key.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError("key is not UTF-8: %s" % e)
    return base64.b64encode(key).decode("ascii")


def decode_headers(headers):
    out = []
    for k, v in headers or []:
        try:
            out.append({"key": k, "value": None if v is None else v.decode("utf-8")})
        except UnicodeDecodeError as e:
            raise DecodeError("header %r is not UTF-8: %s" % (k, e))
    return out


def read_all(args):
    registry = Registry(args.registry)
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": "xk-interop-%d" % os.getpid(),  # required by the client; no group is joined
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        assignment = []
        for topic in args.topics:
            md = consumer.list_topics(topic, timeout=30).topics.get(topic)
            if md is None or md.error is not None:
                raise DecodeError("topic %s: %s" % (topic, md.error if md else "not in metadata"))
            for p in sorted(md.partitions):
                assignment.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        consumer.assign(assignment)
        pending = {(tp.topic, tp.partition) for tp in assignment}
        records = []
        deadline = time.monotonic() + args.timeout
        while pending:
            if time.monotonic() > deadline:
                raise DecodeError(
                    "timed out after %ss before the end of %s"
                    % (args.timeout, ", ".join("%s/%d" % tp for tp in sorted(pending)))
                )
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard((msg.topic(), msg.partition()))
                    continue
                raise KafkaException(err)
            where = "%s/%d@%d" % (msg.topic(), msg.partition(), msg.offset())
            try:
                key = decode_key(args.keys, registry, msg.key())
                value = None if msg.value() is None else decode_avro(registry, msg.value())
                headers = decode_headers(msg.headers())
            except DecodeError as e:
                raise DecodeError("%s: %s" % (where, e))
            records.append(
                {
                    "topic": msg.topic(),
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "key": key,
                    "value": value,
                    "headers": headers,
                }
            )
        records.sort(key=lambda r: (r["topic"], r["partition"], r["offset"]))
        return records
    finally:
        consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", required=True, help="comma-separated seed brokers")
    parser.add_argument("--registry", required=True, help="Confluent-compatible Schema Registry base URL")
    parser.add_argument("--keys", choices=["avro", "string", "bytes"], default="avro", help="how keys are encoded")
    parser.add_argument("--output", default="-", help="file to write the JSON lines to (default: stdout)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to reach the end of every partition")
    parser.add_argument("topics", nargs="+", metavar="TOPIC")
    args = parser.parse_args()

    try:
        records = read_all(args)
        lines = [json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")) for r in records]
    except (DecodeError, KafkaException, ValueError) as e:
        print("decode.py: %s" % e, file=sys.stderr)
        return 1
    text = "".join(line + "\n" for line in lines)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
