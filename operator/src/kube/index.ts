// Public surface of the generic controller machinery. Controllers import from here.
export * from './client.ts';
export * from './conditions.ts';
export * from './controller.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './finalizers.ts';
export * from './informer.ts';
export * from './json.ts';
export * from './keys.ts';
export * from './kubeconfig.ts';
export * from './leader-election.ts';
export * from './manager.ts';
export * from './ownership.ts';
export * from './rate-limiter.ts';
export * from './resources.ts';
export * from './status-writer.ts';
export * from './workqueue.ts';
