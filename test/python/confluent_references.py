"""Independent writer and reader of schemas with references, for the reference tests: Confluent's own
serdes (confluent-kafka) against the schema registry.

  confluent_references.py protobuf <write|read> <registry url> <subject> <files json>
      <files json>: {"main": "<import path of the written file>", "files": {"<import path>": "<.proto text>"}}.
      The files are compiled together with protoc (grpcio-tools, which ships the well-known types), and
      the main file's first message is written or read. Writing, the ProtobufSerializer registers the
      main file under <subject> and each imported file under its import path (Confluent's default
      reference subject names), skipping the well-known types (skip.known.types).
  confluent_references.py avro write <registry url> <subject> <schema> <references json>
      <references json>: [{"name", "subject", "version"}], registered already; the AvroSerializer
      looks <schema> with those references up under <subject> (auto.register.schemas off).
  confluent_references.py json write <registry url> <subject> <schema> <references json>
      The same with the JSONSerializer: a `$ref` to a reference's name resolves to its schema.
  confluent_references.py json read <registry url> <subject>
      The JSONDeserializer: the writer's schema by id, its references resolved, validates each record.

Records (write: JSON lines, Protobuf in its JSON mapping) or wire-format bytes (read: hex lines) on
stdin; one line per record out (write: hex bytes; read: the record in the JSON mapping). The
subject must be <topic>-value."""
import importlib
import json
import os
import sys
import tempfile

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext


def message_class(spec: dict):
    import grpc_tools
    from grpc_tools import protoc

    folder = tempfile.mkdtemp()
    for path, text in spec["files"].items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "w") as f:
            f.write(text)
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", f"-I{folder}", f"-I{well_known}", f"--python_out={folder}", *spec["files"].keys()]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    sys.path.insert(0, folder)
    module = importlib.import_module(spec["main"][: -len(".proto")].replace("/", ".") + "_pb2")
    return list(module.DESCRIPTOR.message_types_by_name.values())[0]._concrete_class


def main() -> None:
    fmt, action, url, subject = sys.argv[1:5]
    if not subject.endswith("-value"):
        raise SystemExit("subject must be <topic>-value (TopicNameStrategy)")
    ctx = SerializationContext(subject[: -len("-value")], MessageField.VALUE)
    client = SchemaRegistryClient({"url": url})
    if fmt == "protobuf":
        from google.protobuf import json_format
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

        cls = message_class(json.loads(sys.argv[5]))
        if action == "write":
            conf = {"auto.register.schemas": True, "use.deprecated.format": False}
            serde = ProtobufSerializer(cls, client, conf=conf)
            out = lambda rec: serde(json_format.ParseDict(rec, cls()), ctx).hex()  # noqa: E731
        else:
            serde = ProtobufDeserializer(cls, conf={"use.deprecated.format": False})
            out = lambda b: json.dumps(  # noqa: E731
                json_format.MessageToDict(serde(b, ctx), preserving_proto_field_name=True)
            )
    elif fmt == "avro" and action == "write":
        from confluent_kafka.schema_registry.avro import AvroSerializer

        refs = [SchemaReference(r["name"], r["subject"], r["version"]) for r in json.loads(sys.argv[6])]
        schema = Schema(sys.argv[5], "AVRO", refs)
        serde = AvroSerializer(client, schema, conf={"auto.register.schemas": False, "use.latest.version": False})
        out = lambda rec: serde(rec, ctx).hex()  # noqa: E731
    elif fmt == "json" and action == "write":
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        refs = [SchemaReference(r["name"], r["subject"], r["version"]) for r in json.loads(sys.argv[6])]
        schema = Schema(sys.argv[5], "JSON", refs)
        serde = JSONSerializer(schema, client, conf={"auto.register.schemas": False, "use.latest.version": False})
        out = lambda rec: serde(rec, ctx).hex()  # noqa: E731
    elif fmt == "json" and action == "read":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        serde = JSONDeserializer(None, schema_registry_client=client)
        out = lambda b: json.dumps(serde(b, ctx))  # noqa: E731
    else:
        raise SystemExit(f"unknown format/action {fmt} {action}")
    for line in sys.stdin:
        if line.strip():
            value = json.loads(line) if action == "write" else bytes.fromhex(line.strip())
            print(out(value), flush=True)


if __name__ == "__main__":
    main()
