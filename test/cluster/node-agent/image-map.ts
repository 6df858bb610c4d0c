// Image → local command map: the node agent has no container runtime, so a container's image
// names a local program instead. The mapped `command` (+ `args`) plays the role of the image's
// ENTRYPOINT (+ CMD); a container's own `command`/`args` override them exactly as Kubernetes
// does. `passthrough` images (generic OS images) have no entrypoint of their own: the
// container's `command` + `args` are run as local executables.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLOT_NODE_FLAGS } from '../../../runtime/src/process/slot-node-flags.ts';
import { NodeAgentError } from './errors.ts';

export interface ImageMapping {
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  passthrough?: boolean;
}

/** Ordered: the first matching pattern wins; file entries come before the defaults. */
export type ImageMap = { pattern: string; mapping: ImageMapping }[];

/** Root of this checkout, derived from this file's location (test/cluster/node-agent/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function defaultImageMap(repoRoot: string = REPO_ROOT): ImageMap {
  const node = join(repoRoot, 'node_modules/.bin/node');
  // The process-mode stand-in for the runtime image's build-time compile cache (Dockerfile,
  // stage compile-cache): one folder for every slot process of this checkout, filled by the
  // first ones. Pods here are host processes of one user, so a shared cache crosses no
  // boundary that process mode has; Node keys entries by version, path and content.
  const compileCache = join(repoRoot, 'node_modules/.cache/tributary-compile-cache');
  return [
    {
      pattern: 'tributary/runtime:*',
      mapping: {
        command: [node, ...SLOT_NODE_FLAGS, join(repoRoot, 'runtime/src/main.ts')],
        env: { NODE_COMPILE_CACHE: compileCache },
      },
    },
    { pattern: 'tributary/operator:*', mapping: { command: [node, join(repoRoot, 'operator/src/main.ts')] } },
    // Node 24 of this checkout as an entrypoint: `args: [script.ts, ...]`.
    { pattern: 'tributary/node:*', mapping: { command: [node] } },
    ...['busybox', 'debian', 'ubuntu', 'alpine'].map((os) => ({ pattern: `${os}*`, mapping: { passthrough: true } })),
  ];
}

/**
 * Normalizes an image reference to `repo:tag` for matching: a missing tag is `latest`, a
 * digest is kept as is, and the Docker Hub prefixes (`docker.io/`, `library/`) are dropped so
 * that `docker.io/library/busybox:1.36` matches `busybox*`.
 */
export function normalizeImage(image: string): string {
  let ref = image.trim();
  ref = ref.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
  const lastSlash = ref.lastIndexOf('/');
  const hasTag = ref.indexOf(':', lastSlash + 1) >= 0 || ref.includes('@');
  return hasTag ? ref : `${ref}:latest`;
}

/** `*` matches any run of characters (including `/` and `:`); everything else is literal. */
export function matchesPattern(pattern: string, image: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(image) || re.test(normalizeImage(image));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function lookupImage(map: ImageMap, image: string): ImageMapping | undefined {
  return map.find((entry) => matchesPattern(entry.pattern, image))?.mapping;
}

export interface ResolvedCommand {
  argv: [string, ...string[]];
  imageEnv: Record<string, string>;
}

/**
 * Kubernetes entrypoint semantics: `command` replaces the image ENTRYPOINT and, when given
 * without `args`, also drops the image CMD; `args` alone replaces only the CMD. Values are
 * expected to be `$(VAR)`-expanded already.
 */
export function resolveCommand(
  mapping: ImageMapping,
  image: string,
  containerCommand: string[] | undefined,
  containerArgs: string[] | undefined,
): ResolvedCommand {
  const hasCommand = containerCommand !== undefined && containerCommand.length > 0;
  const hasArgs = containerArgs !== undefined && containerArgs.length > 0;
  let argv: string[];
  if (mapping.passthrough) {
    argv = [...(containerCommand ?? []), ...(containerArgs ?? [])];
  } else {
    const entrypoint = hasCommand ? containerCommand : (mapping.command ?? []);
    const args = hasArgs ? containerArgs : hasCommand ? [] : (mapping.args ?? []);
    argv = [...entrypoint, ...args];
  }
  const [first, ...rest] = argv;
  if (first === undefined) {
    throw new NodeAgentError(
      'NODE_AGENT_IMAGE_MAP',
      mapping.passthrough
        ? `image ${image} is a passthrough image: the container must set command (or args) to a local executable`
        : `image ${image} maps to an empty command and the container sets none`,
    );
  }
  return { argv: [first, ...rest], imageEnv: { ...(mapping.env ?? {}) } };
}

/**
 * Reads an `--image-map` JSON file: `{ "<pattern>": { command?, args?, env?, passthrough? } }`.
 * The string `${repo}` in command/args/env values is replaced by the checkout root. Its
 * entries take precedence over the defaults (which stay in place after them).
 */
export function loadImageMap(file: string | undefined, repoRoot: string = REPO_ROOT): ImageMap {
  const defaults = defaultImageMap(repoRoot);
  if (file === undefined) return defaults;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new NodeAgentError('NODE_AGENT_IMAGE_MAP', `cannot read image map ${file}`, { cause });
  }
  return [...parseImageMap(parsed, file, repoRoot), ...defaults];
}

export function parseImageMap(parsed: unknown, source: string, repoRoot: string = REPO_ROOT): ImageMap {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new NodeAgentError('NODE_AGENT_IMAGE_MAP', `image map ${source} must be a JSON object of pattern → mapping`);
  }
  const sub = (s: string): string => s.split('${repo}').join(repoRoot);
  const out: ImageMap = [];
  for (const [pattern, raw] of Object.entries(parsed)) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new NodeAgentError('NODE_AGENT_IMAGE_MAP', `image map ${source}: entry ${pattern} must be an object`);
    }
    const entry = raw as Record<string, unknown>;
    const mapping: ImageMapping = {};
    for (const key of ['command', 'args'] as const) {
      const v = entry[key];
      if (v === undefined) continue;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
        throw new NodeAgentError(
          'NODE_AGENT_IMAGE_MAP',
          `image map ${source}: ${pattern}.${key} must be an array of strings`,
        );
      }
      mapping[key] = v.map(sub);
    }
    if (entry.env !== undefined) {
      if (entry.env === null || typeof entry.env !== 'object' || Array.isArray(entry.env)) {
        throw new NodeAgentError(
          'NODE_AGENT_IMAGE_MAP',
          `image map ${source}: ${pattern}.env must be an object of strings`,
        );
      }
      mapping.env = Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, sub(String(v))]));
    }
    if (entry.passthrough !== undefined) mapping.passthrough = entry.passthrough === true;
    if (!mapping.passthrough && mapping.command === undefined) {
      throw new NodeAgentError(
        'NODE_AGENT_IMAGE_MAP',
        `image map ${source}: ${pattern} needs a command or passthrough: true`,
      );
    }
    out.push({ pattern, mapping });
  }
  return out;
}
