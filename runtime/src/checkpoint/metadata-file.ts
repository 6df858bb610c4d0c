// The name of a checkpoint's commit point, in a file of its own so that both the storage
// (checkpoint-storage.ts) and the metadata reader (metadata.ts) can name it without one
// importing the other (retention reads metadata, and the metadata reader names the file).

/** Written last into a checkpoint or savepoint folder: the folder is a completed checkpoint iff it exists. */
export const METADATA_FILE = '_metadata.json';
