import { Agent, request } from 'undici';
import { apiserverUrl } from '../ports.ts';

/**
 * The few raw API calls the cluster CLI makes itself (readiness checks), with the admin
 * token. Tests and the operator use @kubernetes/client-node; the CLI stays dependency-light.
 */
export class AdminApi {
  readonly #dispatcher: Agent;
  readonly #token: string;

  constructor(caPem: Buffer, token: string) {
    this.#dispatcher = new Agent({ connect: { ca: caPem } });
    this.#token = token;
  }

  async get(path: string): Promise<{ status: number; body: unknown }> {
    const res = await request(`${apiserverUrl}${path}`, {
      dispatcher: this.#dispatcher,
      headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json' },
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // non-JSON (healthz) bodies stay text
    }
    return { status: res.statusCode, body };
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}
