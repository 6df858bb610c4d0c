"""Independent writer for the codec tests: Confluent's own AvroSerializer (confluent-kafka)
against the schema registry at argv[1], subject argv[2] (TopicNameStrategy: topic argv[2] minus
'-value', or minus '-key' to serialize message keys), schema (JSON text) in argv[3], records as
JSON lines on stdin; prints one hex line of wire-format bytes per record."""
import json
import sys

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> None:
    url, subject, schema = sys.argv[1], sys.argv[2], sys.argv[3]
    field = MessageField.KEY if subject.endswith("-key") else MessageField.VALUE
    suffix = "-key" if field == MessageField.KEY else "-value"
    if not subject.endswith(suffix):
        raise SystemExit("subject must be <topic>-value or <topic>-key (TopicNameStrategy)")
    topic = subject[: -len(suffix)]
    client = SchemaRegistryClient({"url": url})
    serializer = AvroSerializer(client, schema, conf={"auto.register.schemas": True})
    ctx = SerializationContext(topic, field)
    for line in sys.stdin:
        if line.strip():
            print(serializer(json.loads(line), ctx).hex(), flush=True)


if __name__ == "__main__":
    main()
