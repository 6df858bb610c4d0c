// Version 2 of the clicks job module: the same job with a new step (clicks without an amount
// are dropped before the window). A changed graph: the StreamJob upgrades through a savepoint,
// and the window's state ('per-second') carries over to the new version.
import { StreamEnvironment } from 'tributary';
import { clicks, perUserSecond } from './clicks.ts';

const env = new StreamEnvironment();
perUserSecond(clicks(env).filter((c) => c.amount > 0, 'with-amount'));
await env.execute({ parallelism: 2 });
