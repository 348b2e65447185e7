/**
 * A minimal client of strongSwan's vici protocol (the socket swanctl talks to), used by
 * the strongSwan driver to load and unload single connections, pools and EAP secrets:
 * swanctl can only (re)load whole files, which at 10 000 accounts means seconds per change,
 * and its `--load-pools` hangs once charon's `get-pools` reply passes vici's 512 KiB message
 * limit (about 8 000 pools). Secrets travel inside the socket, never on a command line.
 *
 * Wire format (strongSwan src/libcharon/plugins/vici/README.md): every packet is a 32-bit
 * big-endian length and a payload; the payload is a type byte, for named types a length-
 * prefixed name, then the message: a sequence of elements (section start/end, key-value,
 * list start/item/end) with 8-bit name lengths and 16-bit value lengths.
 */
import { createConnection, type Socket } from "node:net";

/** A vici message section: values are strings (or raw bytes), lists of them, or sub-sections. */
export interface ViciSection {
  readonly [key: string]: ViciValue;
}
export type ViciValue = string | Buffer | readonly (string | Buffer)[] | ViciSection;

const PACKET = { CMD_REQUEST: 0, CMD_RESPONSE: 1, CMD_UNKNOWN: 2, EVENT_REGISTER: 3, EVENT_CONFIRM: 5, EVENT_UNKNOWN: 6, EVENT: 7 };
const ELEMENT = { SECTION_START: 1, SECTION_END: 2, KEY_VALUE: 3, LIST_START: 4, LIST_ITEM: 5, LIST_END: 6 };
/** charon drops (and never answers) messages above this size. */
export const VICI_MESSAGE_SIZE_MAX = 512 * 1024;

function nameBytes(name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length > 255) throw new Error(`[vpncp] [vici] name longer than 255 bytes: ${name.slice(0, 40)}…`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function valueBytes(value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  // The value itself is left out: it may be a secret.
  if (bytes.length > 0xffff) throw new Error("[vpncp] [vici] value longer than 65535 bytes");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function isList(value: ViciValue): value is readonly (string | Buffer)[] {
  return Array.isArray(value);
}

/** Encodes a message body (the elements of a section). */
export function encodeViciMessage(section: ViciSection): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(section)) {
    if (typeof value === "string" || Buffer.isBuffer(value)) {
      parts.push(Buffer.from([ELEMENT.KEY_VALUE]), nameBytes(key), valueBytes(value));
    } else if (isList(value)) {
      parts.push(Buffer.from([ELEMENT.LIST_START]), nameBytes(key));
      for (const item of value) parts.push(Buffer.from([ELEMENT.LIST_ITEM]), valueBytes(item));
      parts.push(Buffer.from([ELEMENT.LIST_END]));
    } else {
      parts.push(
        Buffer.from([ELEMENT.SECTION_START]),
        nameBytes(key),
        encodeViciMessage(value as ViciSection),
        Buffer.from([ELEMENT.SECTION_END]),
      );
    }
  }
  return Buffer.concat(parts);
}

/** Decodes a message body into nested objects (values as UTF-8 strings). */
export function decodeViciMessage(data: Buffer): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: Record<string, unknown>[] = [root];
  let list: string[] | null = null;
  let offset = 0;
  const readName = (): string => {
    const length = data.readUInt8(offset);
    const name = data.toString("utf8", offset + 1, offset + 1 + length);
    offset += 1 + length;
    return name;
  };
  const readValue = (): string => {
    const length = data.readUInt16BE(offset);
    const value = data.toString("utf8", offset + 2, offset + 2 + length);
    offset += 2 + length;
    return value;
  };
  while (offset < data.length) {
    const type = data.readUInt8(offset);
    offset += 1;
    const current = stack[stack.length - 1]!;
    switch (type) {
      case ELEMENT.SECTION_START: {
        const section: Record<string, unknown> = {};
        current[readName()] = section;
        stack.push(section);
        break;
      }
      case ELEMENT.SECTION_END:
        if (stack.length < 2) throw new Error("[vpncp] [vici] unbalanced section end");
        stack.pop();
        break;
      case ELEMENT.KEY_VALUE: {
        const name = readName();
        current[name] = readValue();
        break;
      }
      case ELEMENT.LIST_START:
        list = [];
        current[readName()] = list;
        break;
      case ELEMENT.LIST_ITEM:
        if (!list) throw new Error("[vpncp] [vici] list item outside a list");
        list.push(readValue());
        break;
      case ELEMENT.LIST_END:
        list = null;
        break;
      default:
        throw new Error(`[vpncp] [vici] unknown element type ${type}`);
    }
  }
  return root;
}

function packet(type: number, name: string | null, body: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([type]), name === null ? Buffer.alloc(0) : nameBytes(name), body]);
  if (payload.length > VICI_MESSAGE_SIZE_MAX) throw new Error(`[vpncp] [vici] request larger than ${VICI_MESSAGE_SIZE_MAX} bytes`);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

interface Pending {
  readonly command: string;
  readonly resolve: (reply: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
}

/** `unix:///path` or `tcp://host:port` (what swanctl's `--uri` takes). */
export function parseViciUri(uri: string): { path: string } | { host: string; port: number } {
  if (uri.startsWith("unix://")) return { path: uri.slice("unix://".length) };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(uri);
  if (tcp) return { host: tcp[1]!.replace(/^\[|\]$/g, ""), port: Number(tcp[2]) };
  throw new Error(`[vpncp] [vici] unsupported URI: ${uri}`);
}

/**
 * One vici connection. Requests are answered in order, so they are sent one at a time;
 * events (none are registered) are ignored.
 */
/** What the strongSwan driver needs of a vici connection; `vpncp plan` passes one that records instead of sending. */
export interface ViciClient {
  request(command: string, message?: ViciSection): Promise<Record<string, unknown>>;
  command(command: string, message?: ViciSection, what?: string): Promise<Record<string, unknown>>;
  close(): void;
}

export type ViciConnector = (uri: string, timeoutMs: number) => Promise<ViciClient>;

export class ViciConnection implements ViciClient {
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed: Error | null = null;

  private constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(new Error("[vpncp] [vici] connection closed")));
  }

  static connect(uri: string, timeoutMs = 30_000): Promise<ViciConnection> {
    const target = parseViciUri(uri);
    return new Promise((resolve, reject) => {
      const socket = "path" in target ? createConnection(target.path) : createConnection(target.port, target.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`[vpncp] [vici] connecting to ${uri} timed out`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new ViciConnection(socket, timeoutMs));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`[vpncp] [vici] connecting to ${uri} failed: ${error.message}`, { cause: error }));
      });
    });
  }

  /** Sends one command and resolves with its reply (whatever `success` says). */
  request(command: string, message: ViciSection = {}): Promise<Record<string, unknown>> {
    const run = (): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        if (this.#closed) {
          reject(this.#closed);
          return;
        }
        const timer = setTimeout(() => {
          // A reply above 512 KiB is dropped by charon: without a timeout we would wait forever.
          this.#fail(new Error(`[vpncp] [vici] ${command}: no reply within ${this.#timeoutMs} ms`));
        }, this.#timeoutMs);
        this.#pending = {
          command,
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        this.#socket.write(packet(PACKET.CMD_REQUEST, command, encodeViciMessage(message)));
      });
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Like request(), but rejects unless the reply says `success = yes`. */
  async command(command: string, message: ViciSection = {}, what = command): Promise<Record<string, unknown>> {
    const reply = await this.request(command, message);
    if (reply.success !== "yes") {
      throw new ViciCommandError(command, `[vpncp] [vici] ${what} failed: ${String(reply.errmsg ?? "no reason given")}`);
    }
    return reply;
  }

  close(): void {
    this.#closed ??= new Error("[vpncp] [vici] connection closed");
    this.#socket.destroy();
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(error);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32BE(0);
      if (this.#buffer.length < 4 + length) return;
      const payload = this.#buffer.subarray(4, 4 + length);
      this.#buffer = this.#buffer.subarray(4 + length);
      this.#onPacket(payload);
    }
  }

  #onPacket(payload: Buffer): void {
    const type = payload.readUInt8(0);
    if (type === PACKET.EVENT || type === PACKET.EVENT_CONFIRM || type === PACKET.EVENT_UNKNOWN) return;
    const pending = this.#pending;
    this.#pending = null;
    if (!pending) return;
    if (type === PACKET.CMD_RESPONSE) {
      try {
        pending.resolve(decodeViciMessage(payload.subarray(1)));
      } catch (error) {
        pending.reject(error as Error);
      }
    } else if (type === PACKET.CMD_UNKNOWN) {
      pending.reject(new ViciCommandError(pending.command, `[vpncp] [vici] unknown command: ${pending.command}`));
    } else {
      pending.reject(new Error(`[vpncp] [vici] unexpected packet type ${type}`));
    }
  }
}

/** charon answered, but refused the command (`success = no`, or an unknown command). */
export class ViciCommandError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = "ViciCommandError";
    this.command = command;
  }
}
