/**
 * Serves the built pages (client/dist) from memory: files are read once at start, so a request
 * costs no disk I/O. `/` maps to index.html, `/console` to console.html, `/overlay` to overlay.html.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

export interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();

  constructor(dir: string) {
    if (!existsSync(dir)) return;
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else {
          const body = readFileSync(p);
          const url = "/" + relative(dir, p).split(sep).join("/");
          this.files.set(url, {
            body,
            type: TYPES[extname(p)] ?? "application/octet-stream",
            etag: `"${createHash("sha1").update(body).digest("base64url").slice(0, 16)}"`,
          });
        }
      }
    };
    walk(dir);
  }

  get size(): number {
    return this.files.size;
  }

  lookup(url: string): StaticFile | undefined {
    if (url === "/" || url === "") return this.files.get("/index.html");
    if (url === "/console" || url === "/console/") return this.files.get("/console.html");
    if (url === "/overlay" || url === "/overlay/") return this.files.get("/overlay.html");
    return this.files.get(url);
  }
}
