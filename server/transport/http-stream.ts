/**
 * A streamed HTTP answer over uWS with backpressure: chunks are pulled from an async iterator one at
 * a time, and the next is pulled only once uWS has room (res.write returned true, or onWritable
 * fired), so a slow client slows the producer instead of growing a buffer. uWS sends it chunked.
 *
 * Errors: one before the first chunk propagates (the caller answers with a JSON error); one after
 * the status went out cannot change it, so the connection is closed without the final chunk (the
 * client sees a truncated body: for an export, no seal line) and the error propagates for logging.
 */
import type { Guarded } from "./http-util.ts";

export class StreamAbortedError extends Error {
  override readonly name = "StreamAbortedError";
}

export async function streamBody(
  g: Guarded,
  contentType: string,
  headers: Record<string, string>,
  chunks: AsyncIterable<string>,
): Promise<void> {
  const it = chunks[Symbol.asyncIterator]();
  let next = await it.next();
  if (g.aborted) return void (await it.return?.());
  g.res.cork(() => {
    g.res.writeStatus("200 OK");
    g.res.writeHeader("content-type", contentType);
    // No keep-alive (see http-util.ts send). Not end(_, true): after chunked writes this uWS build
    // then writes its own "Connection: close" line into the body, corrupting the chunked encoding.
    g.res.writeHeader("connection", "close");
    for (const [k, v] of Object.entries(headers)) g.res.writeHeader(k, v);
  });
  try {
    while (!next.done) {
      const chunk = next.value;
      let ok = true;
      g.res.cork(() => {
        ok = g.res.write(chunk);
      });
      if (!ok) await writable(g);
      if (g.aborted) return void (await it.return?.());
      next = await it.next();
    }
  } catch (err) {
    if (!g.aborted) {
      g.aborted = true;
      g.res.close();
    }
    throw err;
  }
  if (g.aborted) return;
  g.res.cork(() => g.res.end());
}

/** Resolves when uWS has drained its buffer for this response, or the client went away. */
function writable(g: Guarded): Promise<void> {
  return new Promise((resolve) => {
    if (g.aborted) return resolve();
    g.onAbort = resolve;
    g.res.onWritable(() => {
      g.onAbort = undefined;
      resolve();
      return true;
    });
  });
}
