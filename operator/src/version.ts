// The release this operator belongs to: the package version, which is also the tag
// `npm run image` gives the image and the chart's appVersion. The default runtime image is
// the runtime target of that same build, so operator and slots never drift apart.
import { readFileSync } from 'node:fs';

/** package.json sits two levels above this file in the checkout and in the image (/app). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const DEFAULT_RUNTIME_IMAGE = `tributary/runtime:${VERSION}`;
