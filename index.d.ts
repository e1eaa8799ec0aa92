// Type definitions for msgpack-rpc (hand-written; the generated binding.d.ts is internal).

import { EventEmitter } from 'node:events'

/** Values that travel over MessagePack-RPC (see README "Values"). */
export type MsgpackValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Uint8Array
  | Date
  | Ext
  | MsgpackValue[]
  | Map<MsgpackValue, MsgpackValue>
  | { [key: string]: MsgpackValue }

/** A MessagePack extension value other than the timestamp (type -1). */
export class Ext {
  constructor(type: number, data: Uint8Array)
  readonly type: number
  readonly data: Buffer
}

/** Stable error codes. */
export const codes: {
  readonly TIMEOUT: 'ERR_MSGPACK_RPC_TIMEOUT'
  readonly CLOSED: 'ERR_MSGPACK_RPC_CLOSED'
  readonly REMOTE: 'ERR_MSGPACK_RPC_REMOTE'
  readonly ABORTED: 'ERR_MSGPACK_RPC_ABORTED'
  readonly ENCODE: 'ERR_MSGPACK_RPC_ENCODE'
  readonly PROTOCOL: 'ERR_MSGPACK_RPC_PROTOCOL'
  readonly MESSAGE_TOO_LARGE: 'ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE'
  readonly UNKNOWN_MSGID: 'ERR_MSGPACK_RPC_UNKNOWN_MSGID'
  readonly ALREADY_RESPONDED: 'ERR_MSGPACK_RPC_ALREADY_RESPONDED'
  readonly TOO_MANY_PENDING: 'ERR_MSGPACK_RPC_TOO_MANY_PENDING'
}

export type ErrorCode = (typeof codes)[keyof typeof codes]

export class RpcError extends Error {
  constructor(code: string, message: string, options?: { cause?: unknown })
  code: string
}
/** The peer answered with an error; `data` is the value exactly as sent. */
export class RemoteError extends RpcError {
  code: 'ERR_MSGPACK_RPC_REMOTE'
  data: MsgpackValue
  method?: string
}
export class TimeoutError extends RpcError {
  code: 'ERR_MSGPACK_RPC_TIMEOUT'
}
export class ClosedError extends RpcError {
  code: 'ERR_MSGPACK_RPC_CLOSED'
}
export class AbortError extends RpcError {
  code: 'ERR_MSGPACK_RPC_ABORTED'
}

/** Limits and buffering shared by servers and clients. */
export interface ConnectionOptions {
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageSize?: number
  /** Deepest nesting of arrays and maps accepted (default 1000). */
  maxDepth?: number
  /** Write backlog in bytes past which `invoke`/`notify` return false (default 1 MiB). */
  highWaterMark?: number
  /** Per-call timeout in ms for calls on this connection (default none). */
  timeout?: number
  /** Calls awaiting a reply (and requests awaiting our answer) per connection (default 65536). */
  maxPendingCalls?: number
}

export interface ServerOptions extends ConnectionOptions {
  /** How long `close()` lets in-flight requests finish, in ms (default 5000). */
  closeTimeout?: number
  /** Connections past this many are closed as soon as they are accepted. */
  maxConnections?: number
  /** Bytes of replies queued on one connection past which it stops reading requests (default 16 MiB). */
  maxQueuedReplies?: number
}

export interface ClientOptions extends ConnectionOptions {
  port?: number | string
  host?: string
  path?: string
  /** Methods answering requests the server sends to this client. */
  handler?: Handler
}

export interface ListenOptions {
  port?: number | string
  host?: string
  path?: string
  backlog?: number
}

export interface CallOptions {
  /** Per-call timeout in ms; overrides `setTimeout()`. 0 turns it off. */
  timeout?: number
  signal?: AbortSignal
}

/** Request handlers: `method(...params, response)`; may return a value or a Promise instead. */
export type Handler = { [method: string]: (...args: any[]) => unknown } | object

export type LegacyCallback = (err: any, result?: any) => void

export class Response {
  readonly msgid: number
  readonly sent: boolean
  result(value?: MsgpackValue): boolean
  error(error: MsgpackValue | Error): boolean
}

/** The socket-like object at `rpcStream.stream`. */
export interface StreamSocket extends EventEmitter {
  end(cb?: () => void): this
  destroy(err?: Error): this
  ref(): this
  unref(): this
  setNoDelay(noDelay?: boolean): this
  setKeepAlive(enable?: boolean, initialDelay?: number): this
  address(): { address?: string; family?: string; port?: number } | string | {}
  readonly writable: boolean
  readonly readable: boolean
  readonly destroyed: boolean
  readonly connecting: boolean
  readonly pending: boolean
  readonly writableLength: number
  readonly bufferSize: number
  readonly remoteAddress?: string
  readonly remotePort?: number
  readonly remoteFamily?: string
  readonly localAddress?: string
  readonly localPort?: number
  on(event: 'connect' | 'end' | 'drain', listener: () => void): this
  on(event: 'close', listener: (hadError: boolean) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}

/** One connection; the same class on both ends. */
export class RpcStream extends EventEmitter {
  readonly stream: StreamSocket
  readonly handler: Handler | undefined
  readonly pendingCalls: number
  readonly closed: boolean
  /** Legacy form: the last argument is `cb(err, result)`; returns false when the caller should wait for 'drain'. */
  invoke(method: string, ...paramsAndCallback: [...params: any[], callback: LegacyCallback]): boolean
  /** Promise form. */
  invoke<T = any>(method: string, ...params: MsgpackValue[]): Promise<T>
  request<T = any>(method: string, params?: MsgpackValue[], options?: CallOptions): Promise<T>
  notify(method: string, ...params: MsgpackValue[]): boolean
  setTimeout(ms?: number): this
  close(cb: () => void): this
  close(): Promise<void>
  ref(): this
  unref(): this
  [Symbol.asyncDispose](): Promise<void>

  on(event: 'ready' | 'close' | 'drain', listener: () => void): this
  on(event: 'request', listener: (method: string, params: any[], response: Response) => void): this
  on(event: 'notify', listener: (method: string, params: any[]) => void): this
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'ready' | 'close' | 'drain', listener: () => void): this
  once(event: 'request', listener: (method: string, params: any[], response: Response) => void): this
  once(event: 'notify', listener: (method: string, params: any[]) => void): this
  once(event: 'error', listener: (err: Error & { code?: string }) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
export { RpcStream as Client }

export class Server extends EventEmitter {
  constructor(listener?: ((stream: RpcStream) => void) | Handler, options?: ServerOptions)
  readonly handler: Handler | undefined
  readonly listening: boolean
  readonly connections: RpcStream[]
  maxConnections: number | undefined
  setHandler(handler: Handler): this
  listen(port?: number | string, host?: string, backlog?: number, callback?: () => void): this
  listen(port?: number | string, host?: string, callback?: () => void): this
  listen(port?: number | string, callback?: () => void): this
  listen(path: string, callback?: () => void): this
  listen(options: ListenOptions, callback?: () => void): this
  close(callback: (err?: Error) => void): this
  close(): Promise<void>
  address(): { address: string; family: string; port: number } | string | null
  getConnections(cb: (err: Error | null, count: number) => void): this
  ref(): this
  unref(): this
  [Symbol.asyncDispose](): Promise<void>

  on(event: 'listening' | 'close', listener: () => void): this
  on(event: 'connection', listener: (stream: RpcStream) => void): this
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'listening' | 'close', listener: () => void): this
  once(event: 'connection', listener: (stream: RpcStream) => void): this
  once(event: 'error', listener: (err: Error & { code?: string }) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

export class SessionPool {
  constructor(options?: ConnectionOptions)
  clients: Record<string, RpcStream>
  getClient(port: number | string, host?: string): RpcStream
  closeClients(): Promise<void[]>
}

export function createServer(listener?: ((stream: RpcStream) => void) | Handler, options?: ServerOptions): Server
export function createClient(port: number | string, host?: string, readyCb?: () => void): RpcStream
export function createClient(port: number | string, readyCb?: () => void): RpcStream
export function createClient(path: string, readyCb?: () => void): RpcStream
export function createClient(options: ClientOptions, readyCb?: () => void): RpcStream
/** Resolves with a connected client; rejects with the connect error. */
export function connect(port: number | string, host?: string, options?: ClientOptions): Promise<RpcStream>
export function connect(target: string | ClientOptions, options?: ClientOptions): Promise<RpcStream>
/** Creates a server and resolves once it listens. */
export function listen(target: number | string | ListenOptions, handler?: ((stream: RpcStream) => void) | Handler, options?: ServerOptions): Promise<Server>

export interface SpawnOptions extends ConnectionOptions {
  /** Methods answering requests the child sends. */
  handler?: Handler
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Only the third entry (stderr) is used: 'inherit' (default), 'pipe' or 'ignore'. */
  stdio?: [unknown, unknown, 'inherit' | 'pipe' | 'ignore']
}

/** A stream over a child process; `process` is the ChildProcess. */
export interface SpawnedStream extends RpcStream {
  process: import('node:child_process').ChildProcess
}

/** Runs MessagePack-RPC over a Duplex you already have (a TLS socket, a pipe, a WebSocket stream). */
export function attach(duplex: import('node:stream').Duplex, handler?: Handler, options?: ConnectionOptions): RpcStream
/** Starts `command` and talks MessagePack-RPC over its stdin/stdout (e.g. `nvim --embed`). */
export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): SpawnedStream
/** Serves (and calls) over this process's stdin/stdout; other stdout output goes to stderr from then on. */
export function stdio(handler?: Handler, options?: ConnectionOptions): RpcStream

export interface UdpOptions extends ConnectionOptions {
  /** Largest datagram sent or accepted (default 65507). */
  maxDatagramSize?: number
  handler?: Handler
}

/** A UDP server: one message per datagram; each remote address is its own RpcStream. */
export class UdpServer extends EventEmitter {
  constructor(listener?: ((peer: RpcStream) => void) | Handler, options?: UdpOptions)
  setHandler(handler: Handler): this
  listen(port?: number, host?: string, callback?: () => void): this
  listen(port: number, callback: () => void): this
  address(): import('node:net').AddressInfo | null
  close(callback: () => void): this
  close(): Promise<void>
  ref(): this
  unref(): this
  on(event: 'listening' | 'close', listener: () => void): this
  on(event: 'connection', listener: (peer: RpcStream) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}
export function createUdpServer(listener?: ((peer: RpcStream) => void) | Handler, options?: UdpOptions): UdpServer
/** A UDP client for one server address. There is no retransmission: give calls a timeout. */
export function createUdpClient(port: number, host?: string, options?: UdpOptions): RpcStream

/** Encodes one value with the library's value table. */
export function encode(value: MsgpackValue): Buffer
/** Decodes one value. */
export function decode(buffer: Uint8Array): any

declare const rpc: {
  createServer: typeof createServer
  createUdpServer: typeof createUdpServer
  createUdpClient: typeof createUdpClient
  attach: typeof attach
  spawn: typeof spawn
  stdio: typeof stdio
  UdpServer: typeof UdpServer
  createClient: typeof createClient
  connect: typeof connect
  listen: typeof listen
  Server: typeof Server
  RpcStream: typeof RpcStream
  Client: typeof RpcStream
  Response: typeof Response
  SessionPool: typeof SessionPool
  Ext: typeof Ext
  encode: typeof encode
  decode: typeof decode
  codes: typeof codes
  RpcError: typeof RpcError
  RemoteError: typeof RemoteError
  TimeoutError: typeof TimeoutError
  ClosedError: typeof ClosedError
  AbortError: typeof AbortError
}
export default rpc
