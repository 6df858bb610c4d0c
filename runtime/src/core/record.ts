// A record: one element of a stream as every step sees it, a plain JSON object whose fields
// are the top-level variables of CEL expressions. One name for it throughout the runtime
// (`Rec`, the name the npm package's DataStream API already exports): a lookup table's row
// and a source's decoded message are records too.
export type Rec = Record<string, unknown>;

/**
 * The type of a record field as a step's `schema` declares it and CEL checks it (every JSON
 * number is a `double`; a typed format's integer an `int` or `uint`, a BigInt in the record:
 * core/json-text.ts; `dyn` when unknown).
 */
export type FieldType = 'double' | 'int' | 'uint' | 'string' | 'bool' | 'map' | 'list' | 'dyn';
/** A record's declared fields: name → type. */
export type FieldTypes = Readonly<Record<string, FieldType>>;
