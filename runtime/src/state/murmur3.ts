// MurmurHash3 x86 32-bit over UTF-8 bytes (seed 0 unless given). Strings are hashed
// without materialising a buffer: the UTF-8 bytes are produced on the fly, so a key's
// hash is identical whether it arrives as a string or as its encoded bytes.

function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mixH(
      h,
      (bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24),
    );
  }
  const rem = n & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (rem >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    h ^= mixK(k);
  }
  return fmix(h, n);
}

/** Hash of the UTF-8 encoding of `s`. */
export function murmur3String(s: string, seed = 0): number {
  let h = seed | 0;
  let word = 0;
  let filled = 0; // bytes in `word`
  let len = 0;
  const push = (b: number): void => {
    word |= b << (filled * 8);
    filled++;
    len++;
    if (filled === 4) {
      h = mixH(h, word);
      word = 0;
      filled = 0;
    }
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      // ASCII fast path, inlined.
      word |= c << (filled * 8);
      filled++;
      len++;
      if (filled === 4) {
        h = mixH(h, word);
        word = 0;
        filled = 0;
      }
    } else if (c < 0x800) {
      push(0xc0 | (c >> 6));
      push(0x80 | (c & 63));
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 63));
      push(0x80 | ((c >> 6) & 63));
      push(0x80 | (c & 63));
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate: encoded as U+FFFD, like TextEncoder
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 63));
      push(0x80 | (c & 63));
    }
  }
  if (filled > 0) h ^= mixK(word);
  return fmix(h, len);
}
