// Pod IPs from a loopback CIDR (Linux routes all of 127.0.0.0/8 to `lo`, so a process can bind
// 127.0.1.7 without any setup). Invariants: an address is owned by at most one pod uid at a
// time; the network and broadcast addresses of the range are never handed out; allocation
// walks forward from the last address given out (wrapping), so a freed address is reused as
// late as possible — a just-deleted pod's peers may still be dialing it.
import { NodeAgentError } from './errors.ts';

export function parseIPv4(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new NodeAgentError('NODE_AGENT_POD_CIDR', `not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new NodeAgentError('NODE_AGENT_POD_CIDR', `not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const [ip, bits, extra] = cidr.split('/');
  const prefix = Number(bits);
  if (
    ip === undefined ||
    bits === undefined ||
    extra !== undefined ||
    !/^\d+$/.test(bits) ||
    prefix < 8 ||
    prefix > 30
  ) {
    throw new NodeAgentError('NODE_AGENT_POD_CIDR', `pod CIDR must look like 127.0.1.0/24 (prefix 8..30): ${cidr}`);
  }
  const addr = parseIPv4(ip);
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  if (base >>> 24 !== 127) {
    throw new NodeAgentError('NODE_AGENT_POD_CIDR', `pod CIDR must be inside 127.0.0.0/8 (loopback only): ${cidr}`);
  }
  return { base, prefix, size };
}

export class IpAllocator {
  readonly cidr: Cidr;
  /** ip (numeric) → owner uid */
  readonly #owners = new Map<number, string>();
  /** owner uid → ip (numeric) */
  readonly #byOwner = new Map<string, number>();
  #last: number;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
    this.#last = this.cidr.base; // the first allocation is base + 1
  }

  contains(ip: string): boolean {
    let n: number;
    try {
      n = parseIPv4(ip);
    } catch {
      return false;
    }
    return n > this.cidr.base && n < this.cidr.base + this.cidr.size - 1;
  }

  /** Returns the address already owned by `owner`, or allocates the next free one. */
  allocate(owner: string): string {
    const existing = this.#byOwner.get(owner);
    if (existing !== undefined) return formatIPv4(existing);
    const first = this.cidr.base + 1;
    const count = this.cidr.size - 2;
    for (let i = 1; i <= count; i++) {
      const candidate = first + ((this.#last - first + i) % count);
      if (!this.#owners.has(candidate)) {
        this.#owners.set(candidate, owner);
        this.#byOwner.set(owner, candidate);
        this.#last = candidate;
        return formatIPv4(candidate);
      }
    }
    throw new NodeAgentError(
      'NODE_AGENT_IP_EXHAUSTED',
      `no free pod IP left in ${formatIPv4(this.cidr.base)}/${this.cidr.prefix}`,
    );
  }

  /**
   * Records an address a pod already had before the agent (re)started. Returns false when the
   * address is outside the range or taken by another owner; the caller then allocates anew.
   */
  reserve(owner: string, ip: string): boolean {
    if (!this.contains(ip)) return false;
    const n = parseIPv4(ip);
    const current = this.#owners.get(n);
    if (current !== undefined) return current === owner;
    const previous = this.#byOwner.get(owner);
    if (previous !== undefined) this.#owners.delete(previous);
    this.#owners.set(n, owner);
    this.#byOwner.set(owner, n);
    return true;
  }

  release(owner: string): void {
    const n = this.#byOwner.get(owner);
    if (n === undefined) return;
    this.#byOwner.delete(owner);
    this.#owners.delete(n);
  }

  get(owner: string): string | undefined {
    const n = this.#byOwner.get(owner);
    return n === undefined ? undefined : formatIPv4(n);
  }

  get size(): number {
    return this.#owners.size;
  }
}
