// Kudu decimals: a column has a precision (1..38 significant digits) and a scale (digits after
// the point, 0..precision); a cell holds the unscaled integer (value × 10^scale) in 4, 8 or 16
// bytes by precision (decimal32 up to 9 digits, decimal64 up to 18, decimal128 up to 38).
// Values are decimal strings ("12.34"), never JavaScript numbers: a double holds about 15-17
// significant digits and no exact 0.1, so a decimal(38, 10) or even 0.1 + 0.2 would change on
// the way. Parsing is exact (strings and bigints only) and refuses rather than rounds: a value
// with more fraction digits than the scale, or more digits than the precision, is an error.

export type DecimalType = 'decimal32' | 'decimal64' | 'decimal128';

export const maxDecimalPrecision = 38;

/** The largest precision each storage type holds (Kudu's kMaxDecimal32Precision and friends). */
export const decimalPrecisionLimit: Record<DecimalType, number> = { decimal32: 9, decimal64: 18, decimal128: 38 };

/** The storage type Kudu uses for a precision (as its own clients pick it). */
export function decimalTypeFor(precision: number): DecimalType {
  return precision <= 9 ? 'decimal32' : precision <= 18 ? 'decimal64' : 'decimal128';
}

const literal = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The unscaled value of `v` for a decimal(precision, scale), or a message saying why it is not
 * one. Accepts a decimal string (optionally with an exponent), a bigint (an integer value) or a
 * finite number by its shortest round-trip form (String(v): 12.34 is "12.34", so JSON numbers
 * written as decimals work; 0.1 + 0.2 is "0.30000000000000004" and fails a scale under 17).
 */
export function parseDecimal(v: unknown, precision: number, scale: number): bigint | string {
  let text: string;
  if (typeof v === 'string') text = v.trim();
  else if (typeof v === 'bigint') text = v.toString();
  else if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
  else return 'expected a decimal string such as "12.34"';
  const m = literal.exec(text);
  const whole = m?.[2] ?? '';
  const frac = m?.[3] ?? '';
  if (!m || whole + frac === '') return 'not a decimal number';
  // digits × 10^exp, with digits free of leading zeros.
  const digits = (whole + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  const exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
  const shift = exp + scale;
  let unscaled: string;
  if (shift >= 0) {
    if (digits.length + shift > precision) return `more than ${precision} digits (precision ${precision})`;
    unscaled = digits + '0'.repeat(shift);
  } else {
    const cut = -shift;
    const dropped = cut >= digits.length ? digits : digits.slice(digits.length - cut);
    if (!/^0*$/.test(dropped)) return `more than ${scale} digits after the point (scale ${scale})`;
    unscaled = cut >= digits.length ? '0' : digits.slice(0, digits.length - cut);
    if (unscaled.length > precision) return `more than ${precision} digits (precision ${precision})`;
  }
  const n = BigInt(unscaled);
  return m[1] === '-' ? -n : n;
}

/** The decimal string of an unscaled value: exactly `scale` digits after the point. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const sign = unscaled < 0n ? '-' : '';
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  if (scale === 0) return sign + digits;
  return `${sign}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

const mask64 = (1n << 64n) - 1n;

/** An int128 in little-endian two's complement (Kudu's in-memory int128_t). */
export function writeInt128LE(v: bigint, out: Buffer, at: number): void {
  out.writeBigUInt64LE(v & mask64, at);
  out.writeBigInt64LE(v >> 64n, at + 8);
}

export function readInt128LE(data: Buffer, at: number): bigint {
  return (data.readBigInt64LE(at + 8) << 64n) | data.readBigUInt64LE(at);
}
