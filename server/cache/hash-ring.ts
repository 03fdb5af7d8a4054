import { createHash } from "node:crypto";

/**
 * Consistent hashing of keys onto servers, ketama-style (the scheme of libmemcached/pylibmc).
 *
 * Each server gets `4 * pointsGroups` points on a 32-bit ring: for g in 0..pointsGroups-1 the md5 of
 * `"<host:port>-<g>"` yields four little-endian uint32 points. A key belongs to the server owning
 * the first point at or after the first little-endian uint32 of md5(key), wrapping past the top.
 *
 * Guarantees:
 * - Placement depends only on the set of addresses, not their order: nodes configured with the same
 *   servers in any order agree on where every key lives.
 * - Adding or removing one of N servers moves only the keys that land on (or leave) that server,
 *   about 1/N of them; every other key stays where it was (unlike memjs's `hash % N`).
 * - With the default 160 points per server the share of each server is within a few percent of 1/N.
 */
export class HashRing {
  /** Sorted ring positions and, at the same index, the owning server's index in `servers`. */
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(
    readonly servers: readonly string[],
    pointsGroups = 40,
  ) {
    if (servers.length === 0) throw new RangeError("HashRing needs at least one server");
    if (new Set(servers).size !== servers.length) throw new RangeError(`duplicate server in ${servers.join(",")}`);
    const ring: Array<{ point: number; owner: number; address: string }> = [];
    servers.forEach((address, owner) => {
      for (let g = 0; g < pointsGroups; g++) {
        const digest = md5(`${address}-${g}`);
        for (let h = 0; h < 4; h++) ring.push({ point: digest.readUInt32LE(h * 4), owner, address });
      }
    });
    // Ties (astronomically rare) are broken by address, never by list order.
    ring.sort((a, b) => a.point - b.point || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    this.points = Uint32Array.from(ring, (p) => p.point);
    this.owners = Uint32Array.from(ring, (p) => p.owner);
  }

  /** Index in `servers` of the server that owns `key`. */
  lookup(key: string): number {
    if (this.servers.length === 1) return 0;
    const h = md5(key).readUInt32LE(0);
    let lo = 0;
    let hi = this.points.length; // first index with points[i] >= h, found by binary search
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo]!;
  }

  /** Address of the server that owns `key`. */
  serverFor(key: string): string {
    return this.servers[this.lookup(key)]!;
  }
}

function md5(text: string): Buffer {
  return createHash("md5").update(text).digest();
}
