/**
 * Request/response over a worker_threads port: each request carries an id; the reply with the same
 * id settles it. Requests not answered within `timeoutMs` reject.
 */
import type { MessagePort } from "node:worker_threads";

export class ThreadRpc<Reply extends { id: number }> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void; timer: NodeJS.Timeout }>();

  constructor(private readonly port: Pick<MessagePort, "postMessage">, private readonly timeoutMs = 5000) {}

  call<M extends { id: number }>(build: (id: number) => M): Promise<Reply> {
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`supervisor did not answer ${build(id) && "request"} ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.port.postMessage(build(id));
    });
  }

  /** Settle the request this reply answers; false if it is not a reply we wait for. */
  settle(reply: Reply): boolean {
    const p = this.pending.get(reply.id);
    if (!p) return false;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
    return true;
  }
}
