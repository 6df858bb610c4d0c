// TEST-ONLY: where the slots of the application-mode test find the clicks job module.
// - Container mode (the cluster's default): the example's own Dockerfile
//   (examples/clicks-app/Dockerfile, FROM the runtime image `npm run image` built) is built
//   with buildah into the cluster's store, as a user builds it; the modules are paths in the image.
//   The tests' own modules (testdata/: an incompatible version, a bounded one) are added to the
//   build context next to the example's modules.
// - Process mode: the slots run on this machine, so the modules are paths of this checkout.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { imageName, packageVersion } from '../../../../../image/build.ts';
import { localImageRef, run, storeFlags } from '../../../../../image/store.ts';
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../../../../examples/clicks-app');
const TESTDATA = resolve(import.meta.dirname, '../testdata');
/** The tests' own job modules, which import the example's clicks.ts. */
const TEST_MODULES = ['clicks-job-incompatible.ts', 'clicks-job-bounded.ts'] as const;
type TestModule = (typeof TEST_MODULES)[number];
const isTestModule = (f: string): f is TestModule => (TEST_MODULES as readonly string[]).includes(f);
/** Where examples/clicks-app/Dockerfile puts the modules. */
const IN_IMAGE = '/app/jobs/clicks';

export interface ClicksApp {
  /** spec.image: the app image, or undefined for the operator's default runtime image. */
  image: string | undefined;
  module(file: 'clicks-job.ts' | 'clicks-job-v2.ts' | 'clicks-scored.ts' | TestModule): string;
}

export async function clicksApp(): Promise<ClicksApp> {
  if ((process.env['TRIBUTARY_NODE_AGENT_RUNTIME'] ?? 'process') !== 'podman') {
    return {
      image: undefined,
      module: (f) => (isTestModule(f) ? join(TESTDATA, f) : join(EXAMPLE, 'src', f)),
    };
  }
  const ctx = mkdtempSync(join(tmpdir(), 'clicks-app-'));
  try {
    cpSync(join(EXAMPLE, 'Dockerfile'), join(ctx, 'Dockerfile'));
    cpSync(join(EXAMPLE, 'src'), join(ctx, 'src'), { recursive: true });
    // In the image the example's modules sit side by side: the import becomes a sibling one.
    for (const f of TEST_MODULES) {
      const file = join(TESTDATA, f);
      const text = readFileSync(file, 'utf8').replace(
        /from '[./]+\/examples\/clicks-app\/src\/clicks\.ts'/,
        "from './clicks.ts'",
      );
      if (!text.includes("from './clicks.ts'")) {
        throw new OperatorError(ErrorCodes.TEST_HARNESS, `${file} no longer imports the example's clicks.ts`);
      }
      writeFileSync(join(ctx, 'src', f), text);
    }
    // One tag, rebuilt each run: the store keeps one such image, not one per run.
    const image = 'tributary-test/clicks-app:test';
    const r = await run([
      'buildah',
      ...storeFlags(),
      'build',
      '--isolation',
      'chroot',
      '--pull-never',
      '--build-arg',
      `RUNTIME=${localImageRef(imageName('runtime', packageVersion()))}`,
      '--tag',
      image,
      '--quiet',
      ctx,
    ]);
    if (r.code !== 0) {
      throw new OperatorError(
        ErrorCodes.TEST_HARNESS,
        `buildah build of the clicks-app example exited ${r.code}: ${r.stderr}`,
      );
    }
    return { image, module: (f) => `${IN_IMAGE}/${f}` };
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
