// TEST-ONLY: what the README test's checks share: one run of README.md "On Kubernetes" (a
// variant, its namespace, shell and clients) and the shape of a check, found by the text of
// the README command it belongs to.
import type { Kafka } from 'kafkajs';
import type { KubeClient } from '../../operator/src/kube/index.ts';
import type { LocalS3 } from '../harness/s3-state-storage.ts';
import type { ReadmeShell } from './readme-shell.ts';

export type Variant = 'helm' | 'checkout';

export interface PathContext {
  readonly variant: Variant;
  /** This variant's namespace: the default one of its kubeconfig copy. */
  readonly ns: string;
  readonly shell: ReadmeShell;
  readonly kube: KubeClient;
  readonly kafka: Kafka;
  /** A folder of the test's own (the kubeconfig copy). */
  readonly tmp: string;
  readonly clusterDir: string;
  readonly kubeconfig: string;
  readonly brokers: string;
  /** The cluster's S3 server, where the operator's default keeps the jobs' state. */
  readonly s3: LocalS3;
  /**
   * Whether each rescale is timed into a fully fed minute and that minute's counts are awaited
   * and checked. The helm variant does; the checkout variant runs the same operator code, only
   * launched differently, so it checks what the launch can change (each rescale happens and
   * restores its own savepoint; at the end the output holds each (country, window) once, no
   * minute missing, full counts) and spares the CI budget the minute or more of waiting.
   */
  readonly countRescaledMinutes: boolean;
  /** Records per second of crds/examples/clicks-feed.yaml's datagen (= per second of event time). */
  readonly feedRate: number;
  /** Where this run's share of the topics starts (earlier runs wrote to the same topics). */
  outputFrom: Map<number, bigint>;
  clicksFrom: Map<number, bigint>;
  /** When the feed was Ready: every minute window from the next minute on is fully fed. */
  feedReadyAt?: number;
  /** When the last `kubectl scale` ran, from and to how many replicas. */
  scaledAt?: number;
  /** When each `kubectl scale` ran whose minute is not checked yet (countRescaledMinutes). */
  uncheckedScales?: number[];
  scaledFrom?: number;
  scaledTo?: number;
  /** The deployment and its slot pods' uids (by slot) before the last rescale: a live rescale keeps both. */
  scaledDeployment?: string;
  scaledPods?: string[];
}

export interface StepCheck {
  /** What is checked, for the report when its command is missing. */
  readonly name: string;
  readonly match: RegExp;
  readonly variants?: readonly Variant[];
  /** How many commands it must match in a run (default 1). */
  readonly times?: number;
  /** The command actually run instead of the README's text. */
  readonly rewrite?: (text: string) => string;
  before?(c: PathContext): Promise<void>;
  after?(c: PathContext, output: string): Promise<void>;
}
