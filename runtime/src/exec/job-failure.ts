// What went wrong in a job: its first failure (reported by status(), rethrown by run()) and a
// simulated crash. A crash is not reported as the job's error until run() ends with it, and
// it wins over an earlier failure when run() decides how to end: the job then behaves as a
// process killed where it stood.
import { TributaryError } from '../errors.ts';

export class JobFailure {
  private first: unknown;
  private crash: TributaryError | undefined;

  /** Keeps the first failure; later ones are only logged by the caller. */
  record(e: unknown): void {
    this.first ??= e;
  }

  markCrashed(): void {
    this.crash ??= new TributaryError('TRIB_JOB_FAILED', 'job crashed (simulated): stopped without committing');
  }

  get crashed(): boolean {
    return this.crash !== undefined;
  }

  /** The first recorded failure, as status() reports it. */
  get error(): unknown {
    return this.first;
  }

  /** Throws the crash, else the first failure. */
  throwIfFailed(): void {
    if (this.crash) throw this.crash;
    this.throwIfRecorded();
  }

  /** Throws the first failure (a crash is not looked at). */
  throwIfRecorded(): void {
    if (this.first !== undefined) throw this.first;
  }
}
