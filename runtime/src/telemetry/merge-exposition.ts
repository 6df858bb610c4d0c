// Merges Prometheus text expositions into one (the job-wide /metrics of a supervised run: the
// supervisor's own and every slot's). The format allows each metric family once, with all its
// samples together, so families are gathered across sources in first-seen order; a source with
// a label value (`slot`) adds it to each of its samples, unless the sample has that label already
// (a slot's own per-slot gauges). HELP and TYPE are the first source's.

export interface ExpositionSource {
  text: string;
  /** Added to every sample of this source that lacks it, e.g. ['slot', '1']. */
  label?: readonly [name: string, value: string];
}

interface Family {
  header: string[];
  samples: string[];
}

const META = /^# (HELP|TYPE) (\S+)/;
// name, then the label set (quoted values may hold braces and escaped quotes), then value and timestamp.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?(\s.*)$/;

export function mergeExpositions(sources: readonly ExpositionSource[]): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { header: [], samples: [] }));
    return f;
  };
  for (const src of sources) {
    let current: Family | undefined;
    let currentName = '';
    for (const line of src.text.split('\n')) {
      if (line === '') continue;
      const meta = META.exec(line);
      if (meta) {
        const name = meta[2] as string;
        current = family(name);
        currentName = name;
        // One HELP and one TYPE per family: the first source's.
        if (!current.header.some((h) => h.startsWith(`# ${meta[1] as string} `))) current.header.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      const m = SAMPLE.exec(line);
      // A sample of no HELP/TYPE before it (untyped, or after another family's): its own family.
      const name = m?.[1] ?? line;
      const f = current && ofFamily(name, currentName) ? current : family(name);
      f.samples.push(m && src.label ? withLabel(m[1] as string, m[2], m[3] as string, src.label) : line);
    }
  }
  let out = '';
  for (const f of families.values()) {
    if (f.header.length + f.samples.length === 0) continue;
    out += `${[...f.header, ...f.samples].join('\n')}\n\n`;
  }
  return out;
}

/** A histogram's or summary's series carry a suffix (`x_bucket`, `x_sum`, `x_count`); a counter's `x_total`. */
function ofFamily(sample: string, family: string): boolean {
  if (sample === family) return true;
  return sample.startsWith(`${family}_`) && SUFFIXES.has(sample.slice(family.length + 1));
}

const SUFFIXES = new Set(['bucket', 'sum', 'count', 'total', 'created', 'info']);

function withLabel(name: string, labels: string | undefined, rest: string, [k, v]: readonly [string, string]): string {
  const pair = `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
  if (!labels || labels === '{}') return `${name}{${pair}}${rest}`;
  if (new RegExp(`[{,]\\s*${k}="`).test(labels)) return `${name}${labels}${rest}`;
  return `${name}{${pair},${labels.slice(1)}${rest}`;
}
