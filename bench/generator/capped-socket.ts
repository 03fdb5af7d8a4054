/**
 * A client TCP socket bound to a chosen loopback source address, with SO_SNDBUF capped.
 *
 * Why: a flood with default buffers lets Linux autotune each send buffer up to tcp_wmem[2] (4 MB
 * here); thousands of them exhausted kernel TCP memory and aborted sockets. Node's `net` has no
 * setSendBufferSize (only `dgram` does), so the socket is created through the TCP binding, bound
 * (which creates the fd), and a UDP handle is opened on that same fd just to call
 * uv_send_buffer_size -> setsockopt(SO_SNDBUF). Setting it also disables autotuning for the socket
 * (Linux doubles the value: 64 KB requested -> 128 KB effective, visible as `tb131072` in `ss -tm`).
 *
 * Cost of the trick: the UDP handle cannot be closed (closing it would close the shared fd), so one
 * small handle object (~0.3 KB) stays allocated per connection opened, until the process exits.
 * Generator processes are short-lived and bounded in connection count, so this is bounded too.
 *
 * If the internal bindings are unavailable (another runtime or a future Node), `cappedSocket`
 * returns null and the caller falls back to a plain socket; `sndbufCapSupported()` reports it.
 */
import net from "node:net";

interface TcpHandle {
  bind(address: string, port: number): number;
  close(): void;
  readonly fd: number;
}
interface UdpHandle {
  open(fd: number): number;
  bufferSize(size: number, recv: boolean, ctx: object): number;
}
interface Bindings {
  TCP: new (type: number) => TcpHandle;
  tcpSocketType: number;
  UDP: new () => UdpHandle;
}

let bindings: Bindings | null | undefined;

function loadBindings(): Bindings | null {
  if (bindings !== undefined) return bindings;
  try {
    const binding = (process as unknown as { binding: (name: string) => Record<string, unknown> }).binding;
    const tcp = binding("tcp_wrap") as { TCP: Bindings["TCP"]; constants: { SOCKET: number } };
    const udp = binding("udp_wrap") as { UDP: Bindings["UDP"] };
    bindings = { TCP: tcp.TCP, tcpSocketType: tcp.constants.SOCKET, UDP: udp.UDP };
  } catch {
    bindings = null;
  }
  return bindings;
}

export function sndbufCapSupported(): boolean {
  return loadBindings() !== null;
}

export type CappedSocketResult = { ok: true; socket: net.Socket; sndbuf: number } | { ok: false; code: string };

/**
 * Creates an unconnected socket bound to `localAddress`:0 with SO_SNDBUF = `sndbufBytes`.
 * `sndbuf` is the effective value read back from the kernel.
 * Returns null when the bindings are unavailable; `{ok:false, code}` when bind or setsockopt failed
 * (e.g. EADDRINUSE when the source address ran out of ephemeral ports).
 * Call `socket.connect({host, port})` next (without localAddress: the socket is already bound).
 */
export function cappedSocket(localAddress: string, sndbufBytes: number, onread: net.OnReadOpts | undefined): CappedSocketResult | null {
  const b = loadBindings();
  if (b === null) return null;
  const handle = new b.TCP(b.tcpSocketType);
  const bindErr = handle.bind(localAddress, 0);
  if (bindErr !== 0) {
    handle.close();
    return { ok: false, code: errname(bindErr) };
  }
  const udp = new b.UDP();
  const openErr = udp.open(handle.fd);
  if (openErr !== 0) {
    handle.close();
    return { ok: false, code: errname(openErr) };
  }
  const ctx: { code?: string } = {};
  udp.bufferSize(sndbufBytes, false, ctx);
  // Read back: the kernel's effective value (Linux: twice the request).
  const effective = ctx.code === undefined ? udp.bufferSize(0, false, ctx) : 0;
  if (ctx.code !== undefined) {
    handle.close();
    return { ok: false, code: ctx.code };
  }
  const opts = { handle, manualStart: true, ...(onread ? { onread } : {}) } as unknown as net.SocketConstructorOpts;
  return { ok: true, socket: new net.Socket(opts), sndbuf: effective };
}

function errname(code: number): string {
  try {
    return (process as unknown as { binding(name: string): { errname(c: number): string } }).binding("uv").errname(code);
  } catch {
    return `E${-code}`;
  }
}

/**
 * The socket a client connection uses: capped and bound when `sndbuf` and `localAddress` are both
 * given and the bindings exist, a plain unconnected socket otherwise (sndbuf 0 = not capped).
 */
export function clientSocket(opts: { localAddress?: string; sndbuf: number }, onread: net.OnReadOpts): CappedSocketResult {
  if (opts.sndbuf > 0 && opts.localAddress !== undefined) {
    const made = cappedSocket(opts.localAddress, opts.sndbuf, onread);
    if (made !== null) return made;
  }
  return { ok: true, socket: new net.Socket({ onread } as unknown as net.SocketConstructorOpts), sndbuf: 0 };
}
