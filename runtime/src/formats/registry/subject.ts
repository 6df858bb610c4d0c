// Subject naming strategies, as Confluent's serializers name them: which registry subject a
// topic's key or value schema lives under.
import { TributaryError } from '../../errors.ts';

export type SubjectNameStrategy = 'topic' | 'record' | 'topic-record';

/**
 * `topic`: `<topic>-key|value` (TopicNameStrategy, the default); `record`: the record's full
 * name (RecordNameStrategy); `topic-record`: `<topic>-<full name>` (TopicRecordNameStrategy).
 */
export function subjectName(
  strategy: SubjectNameStrategy,
  o: { topic: string; isKey: boolean; recordName?: string },
): string {
  if (strategy === 'topic') return `${o.topic}-${o.isKey ? 'key' : 'value'}`;
  if (!o.recordName) {
    throw new TributaryError(
      'TRIB_REGISTRY_CONFIG',
      `subject strategy "${strategy}" needs the schema's full record name (topic "${o.topic}")`,
    );
  }
  return strategy === 'record' ? o.recordName : `${o.topic}-${o.recordName}`;
}
