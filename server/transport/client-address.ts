/**
 * Who a request comes from, for per-address limits (connect admission, public reads).
 *
 * The client address is the TCP peer, unless the peer is one of TRUSTED_PROXIES: then it is the
 * right-most address of X-Forwarded-For that is not a trusted proxy, read across EVERY
 * X-Forwarded-For line of the request in order (a proxy that appends its own line after one the
 * client planted, as HAProxy's `option forwardfor` does, is read from its own line first). A
 * malformed hop (or a header of trusted proxies only) gives the peer itself, never anything a client
 * wrote to the left of it. Only a proxy that replaces the
 * header (deploy/haproxy.cfg) or appends after the client's lines gives the true client; the
 * PROXY protocol is not read.
 */
import { BlockList, isIP } from "node:net";
import type { HttpRequest } from "./uws.ts";

export class ClientAddresses {
  private readonly trusted: BlockList | null;

  constructor(trustedProxies: readonly string[]) {
    this.trusted = trustedProxies.length > 0 ? blockListOf(trustedProxies) : null;
  }

  /** The client address (see the header comment). `forwardedFor`: every X-Forwarded-For line, joined with ",". */
  of(peer: string, forwardedFor: string): string {
    const p = normalizeAddress(peer);
    if (this.trusted === null || p === null || !this.isTrusted(p) || forwardedFor === "") return p ?? peer;
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const a = normalizeAddress(hops[i]!.trim());
      if (a === null) return p; // a malformed hop: trust nothing left of it
      if (!this.isTrusted(a)) return a;
    }
    return p;
  }

  /** The key a per-address limit counts by: the address, or its /64 for IPv6 (one subscriber's prefix). */
  keyOf(peer: string, forwardedFor: string): string {
    const a = this.of(peer, forwardedFor);
    return isIP(a) === 6 ? a.split(":").slice(0, 4).join(":") + "::/64" : a;
  }

  private isTrusted(a: string): boolean {
    return this.trusted!.check(a, isIP(a) === 6 ? "ipv6" : "ipv4");
  }
}

/**
 * Every X-Forwarded-For line of a request, in order, joined with "," ("" when none). uWS's
 * getHeader returns only the first line of a repeated header, which is the one a client planted.
 * Must be called inside the synchronous handler (uWS frees the request after it returns).
 */
export function forwardedFor(req: HttpRequest): string {
  let out = "";
  req.forEach((key, value) => {
    if (key === "x-forwarded-for") out = out === "" ? value : `${out},${value}`;
  });
  return out;
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split("/") as [string, string | undefined];
    const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

/**
 * An address in canonical text: IPv4 dotted, IPv6 as Node prints it; an IPv4-mapped IPv6 address
 * (uWS prints a dual-stack peer as 16 bytes in hex) becomes its IPv4. null: not an address.
 */
export function normalizeAddress(text: string): string | null {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const family = isIP(t);
  if (family === 4) return t;
  if (family !== 6) return null;
  const mapped = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(t) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(t);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(t);
  if (dotted) return dotted[1]!;
  return expandIpv6(t);
}

/** Full 8-group lower-case form, so one address has one key. */
function expandIpv6(t: string): string {
  const [head, tail] = t.toLowerCase().split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const tl = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill("0"), ...tl];
  return groups.map((g) => g.padStart(4, "0")).join(":");
}
