/**
 * How the engine process talks to its host, whichever host it has, as FramePorts (one per client
 * connection) so that the contract's server (shared/rpc.ts) runs unchanged over both:
 *  - Electron: the engine is a utilityProcess; main hands it one MessagePort per window
 *    (`{ cdx: 'connect', id }` with the port attached) and the renderer holds the other end.
 *  - Web mode / CLI: the engine is a forked Node child; the host multiplexes every client over
 *    the IPC channel as `{ c: connectionId, f: frame }`, `{ c, close: true }` when a client leaves.
 * Beside the connections, the host and the engine exchange control messages (declared here for
 * both ends): the engine says `ready`, and answers the host's watchdog `ping` with `pong` at once,
 * on its event loop — never queued behind calls — so a missing pong means the loop is blocked
 * (main/engine/supervisor.ts). No 'electron' import here: in a utility process
 * `process.parentPort` is a plain global.
 */
import type { FramePort } from '../../shared/rpc';

export type ConnectHandler = (port: FramePort, connection: string) => void;

/** Host -> engine control messages. */
export type HostControl = { cdx: 'ping'; seq: number } | { cdx: 'connect'; id: string };
/** Engine -> host control messages. */
export type EngineControl = { cdx: 'ready'; pid: number } | { cdx: 'pong'; seq: number };

export function isEngineControl(m: unknown): m is EngineControl {
  const c = (m as { cdx?: unknown } | null)?.cdx;
  return c === 'ready' || c === 'pong';
}

interface ElectronPortLike {
  on(event: 'message', l: (e: { data: unknown }) => void): void;
  on(event: 'close', l: () => void): void;
  postMessage(data: unknown): void;
  start(): void;
  close(): void;
}

interface ParentPortLike {
  on(event: 'message', l: (e: { data: unknown; ports: ElectronPortLike[] }) => void): void;
  postMessage(m: unknown): void;
}

function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return null;
}

/** Adapt an Electron MessagePortMain to a FramePort. */
export function framePortFromElectronPort(p: ElectronPortLike): FramePort {
  const frames: ((f: Uint8Array) => void)[] = [];
  const closes: ((r: string) => void)[] = [];
  let closed = false;
  p.on('message', (e) => {
    const bytes = toBytes(e.data);
    if (bytes) for (const l of frames) l(bytes);
  });
  p.on('close', () => {
    if (closed) return;
    closed = true;
    for (const l of closes) l('port closed');
  });
  p.start();
  return {
    send: (f) => p.postMessage(f),
    onFrame: (l) => void frames.push(l),
    onClose: (l) => void closes.push(l),
    close: () => {
      closed = true;
      p.close();
    },
  };
}

function parentPortOf(): ParentPortLike | undefined {
  return (process as unknown as { parentPort?: ParentPortLike }).parentPort;
}

/** Tell the host this engine serves (once its handlers are set up). */
export function announceReady(): void {
  const msg: EngineControl = { cdx: 'ready', pid: process.pid };
  const parentPort = parentPortOf();
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

/** Listen for connections from whichever host started this process. Returns false if none. */
export function listenToHost(onConnect: ConnectHandler): boolean {
  const parentPort = parentPortOf();
  if (parentPort) {
    parentPort.on('message', (e) => {
      const msg = e.data as HostControl | null;
      if (msg?.cdx === 'ping') parentPort.postMessage({ cdx: 'pong', seq: msg.seq } satisfies EngineControl);
      else if (msg?.cdx === 'connect' && e.ports?.[0]) onConnect(framePortFromElectronPort(e.ports[0]), String(msg.id ?? 'window'));
    });
    return true;
  }
  if (typeof process.send === 'function') {
    const conns = new Map<string, { frames: ((f: Uint8Array) => void)[]; closes: ((r: string) => void)[] }>();
    process.on('message', (raw: unknown) => {
      const ctl = raw as HostControl | null;
      if (ctl?.cdx === 'ping') {
        process.send?.({ cdx: 'pong', seq: ctl.seq } satisfies EngineControl);
        return;
      }
      const msg = raw as { c?: string; f?: unknown; close?: boolean } | null;
      if (!msg || typeof msg.c !== 'string') return;
      const id = msg.c;
      let conn = conns.get(id);
      if (!conn && !msg.close) {
        const c = { frames: [] as ((f: Uint8Array) => void)[], closes: [] as ((r: string) => void)[] };
        conns.set(id, c);
        conn = c;
        onConnect(
          {
            send: (f) => {
              process.send?.({ c: id, f });
            },
            onFrame: (l) => void c.frames.push(l),
            onClose: (l) => void c.closes.push(l),
            close: () => {
              conns.delete(id);
              process.send?.({ c: id, close: true });
            },
          },
          id,
        );
      }
      if (!conn) return;
      if (msg.close) {
        conns.delete(id);
        for (const l of conn.closes) l('client left');
        return;
      }
      const bytes = toBytes(msg.f);
      if (bytes) for (const l of conn.frames) l(bytes);
    });
    // the host is gone: nothing left to serve
    process.on('disconnect', () => process.exit(0));
    return true;
  }
  return false;
}
