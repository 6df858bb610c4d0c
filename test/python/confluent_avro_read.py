"""Independent reader for the Kafka format tests: Confluent's own Consumer (librdkafka) reads
topic argv[3] from the brokers argv[1] from the beginning until argv[4] records arrived (or 20 s
passed), and Confluent's AvroDeserializer decodes each value as written, its schema fetched from
the registry at argv[2] by the message's id. argv[5] == 'raw' prints the bytes instead: no
deserializer; argv[5] == 'keyed' decodes each key with it too (as Avro, MessageField.KEY). One
JSON line per record: partition, offset, key (hex, or decoded when keyed), value (the decoded
record, or hex when raw) and headers (name, hex value pairs in order)."""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> None:
    brokers, registry, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    raw = len(sys.argv) > 5 and sys.argv[5] == "raw"
    keyed = len(sys.argv) > 5 and sys.argv[5] == "keyed"
    deserializer = None if raw else AvroDeserializer(SchemaRegistryClient({"url": registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"it-confluent-reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    ctx = SerializationContext(topic, MessageField.VALUE)
    key_ctx = SerializationContext(topic, MessageField.KEY)
    seen = 0
    deadline = time.time() + 20
    try:
        while seen < count and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise SystemExit(f"consumer error: {m.error()}")
            value = m.value()
            decoded = value.hex() if raw or value is None else deserializer(value, ctx)
            headers = [[k, (v or b"").hex()] for k, v in (m.headers() or [])]
            key = None if m.key() is None else deserializer(m.key(), key_ctx) if keyed else m.key().hex()
            line = {"partition": m.partition(), "offset": m.offset(), "key": key, "value": decoded, "headers": headers}
            print(json.dumps(line), flush=True)
            seen += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
