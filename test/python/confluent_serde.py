"""Independent writer and reader for the codec tests: Confluent's own ProtobufSerializer /
ProtobufDeserializer and JSONSerializer / JSONDeserializer (confluent-kafka) against the schema
registry. Usage: confluent_serde.py <write|read> <protobuf|json> <registry url> <subject> <schema>
with records (write: JSON lines) or wire-format bytes (read: hex lines) on stdin; prints one line
per record (write: hex bytes; read: the record as JSON). For protobuf, <schema> is .proto text,
compiled with protoc (grpcio-tools) into the message class Confluent's serdes need; the first
message of the file is the one written and read. The subject must be <topic>-value, or
<topic>-key to write and read message keys (MessageField.KEY)."""
import importlib
import json
import os
import sys
import tempfile

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext


def message_class(proto: str):
    from google.protobuf import json_format  # noqa: F401  (imported for read's use)
    from grpc_tools import protoc

    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "written.proto"), "w") as f:
        f.write(proto)
    if protoc.main(["protoc", f"-I{folder}", f"--python_out={folder}", os.path.join(folder, "written.proto")]) != 0:
        raise SystemExit("protoc failed")
    sys.path.insert(0, folder)
    module = importlib.import_module("written_pb2")
    return list(module.DESCRIPTOR.message_types_by_name.values())[0]._concrete_class


def main() -> None:
    action, fmt, url, subject, schema = sys.argv[1:6]
    field = MessageField.KEY if subject.endswith("-key") else MessageField.VALUE
    suffix = "-key" if field == MessageField.KEY else "-value"
    if not subject.endswith(suffix):
        raise SystemExit("subject must be <topic>-value or <topic>-key (TopicNameStrategy)")
    ctx = SerializationContext(subject[: -len(suffix)], field)
    client = SchemaRegistryClient({"url": url})
    conf = {"auto.register.schemas": True}
    if fmt == "protobuf":
        from google.protobuf import json_format
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

        cls = message_class(schema)
        if action == "write":
            serde = ProtobufSerializer(cls, client, conf={**conf, "use.deprecated.format": False})
            out = lambda rec: serde(json_format.ParseDict(rec, cls()), ctx).hex()  # noqa: E731
        else:
            serde = ProtobufDeserializer(cls, conf={"use.deprecated.format": False})
            out = lambda b: json.dumps(  # noqa: E731
                json_format.MessageToDict(serde(b, ctx), preserving_proto_field_name=True)
            )
    elif fmt == "json":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

        if action == "write":
            serde = JSONSerializer(schema, client, conf=conf)
            out = lambda rec: serde(rec, ctx).hex()  # noqa: E731
        else:
            serde = JSONDeserializer(schema, schema_registry_client=client)
            out = lambda b: json.dumps(serde(b, ctx))  # noqa: E731
    else:
        raise SystemExit(f"unknown format {fmt}")
    for line in sys.stdin:
        if line.strip():
            value = json.loads(line) if action == "write" else bytes.fromhex(line.strip())
            print(out(value), flush=True)


if __name__ == "__main__":
    main()
