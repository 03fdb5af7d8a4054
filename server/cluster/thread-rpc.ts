/**
 * Request/response over a worker_threads port: each request carries an id; the reply with the same
 * id settles it. Requests not answered within `timeoutMs` reject with an RpcError("timeout").
 */
import type { MessagePort } from "node:worker_threads";

export class RpcError extends Error {
  constructor(
    readonly code: "timeout" | "rejected" | "unexpected_reply",
    message: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export class ThreadRpc<Reply extends { id: number }> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Reply): void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly port: Pick<MessagePort, "postMessage">,
    private readonly timeoutMs = 5000,
  ) {}

  call<M extends { id: number; type: string }>(build: (id: number) => M): Promise<Reply> {
    const id = this.nextId++;
    const msg = build(id);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError("timeout", `supervisor did not answer ${msg.type} ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.port.postMessage(msg);
    });
  }

  /** Settle the request this reply answers; false if it is not a reply we wait for (late or unknown). */
  settle(reply: Reply): boolean {
    const p = this.pending.get(reply.id);
    if (!p) return false;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
    return true;
  }
}
