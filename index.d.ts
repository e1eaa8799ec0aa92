// Type definitions for msgpack-rpc (hand-written; the generated binding.d.ts is internal).

import { EventEmitter } from 'node:events'

/**
 * A value as it comes back from the peer (see README "Values"): what a call
 * resolves to, `RemoteError#data`, `decode()`.
 */
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

/**
 * A value that can be sent: params, results, errors, `encode()`. Wider than
 * `MsgpackValue`: readonly arrays and maps, any typed array, a Set (sent as
 * an array), an Error (sent as its message), and objects typed with an
 * `interface` or a class (sent as a map of their own enumerable properties).
 * TypeScript cannot check the members of an interface against an index
 * signature, so only a function or symbol in a place the type can see is
 * refused here; the encoder refuses the rest with `ERR_MSGPACK_RPC_ENCODE`.
 */
export type Encodable =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | ArrayBufferView
  | ArrayBuffer
  | Date
  | Ext
  | Error
  | readonly Encodable[]
  | ReadonlyMap<Encodable, Encodable>
  | ReadonlySet<Encodable>
  | { readonly [key: string]: Encodable }
  | EncodableObject

/**
 * Any object but a function or a collection: functions have `Symbol.hasInstance`
 * and collections `Symbol.iterator` (arrays, maps and sets are checked by their
 * own members above); plain data has neither.
 * (`object &` keeps TypeScript from treating this as a "weak" all-optional type.)
 */
export type EncodableObject = object & {
  readonly [Symbol.hasInstance]?: never
  readonly [Symbol.iterator]?: never
}

/** A MessagePack extension value other than the timestamp (type -1). */
export class Ext {
  constructor(type: number, data: Uint8Array)
  readonly type: number
  readonly data: Buffer
}

/** Stable error codes (`err.code`); the same list as `require('msgpack-rpc').codes`. */
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
  /** A reconnecting client is down and `maxQueuedCalls` calls already wait for it. */
  readonly QUEUE_FULL: 'ERR_MSGPACK_RPC_QUEUE_FULL'
  /** A request or notification handler, or a 'request'/'notify' listener, threw or rejected. */
  readonly HANDLER: 'ERR_MSGPACK_RPC_HANDLER'
  /** The callback given to `invoke(..., cb)` threw. */
  readonly CALLBACK: 'ERR_MSGPACK_RPC_CALLBACK'
  /** A bug in this library (a native panic, a decoder fault); the connection closes. */
  readonly INTERNAL: 'ERR_MSGPACK_RPC_INTERNAL'
  /** The native addon could not be loaded. */
  readonly NO_ADDON: 'ERR_MSGPACK_RPC_NO_ADDON'
}

/** Every `code` in `codes`. */
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

// ---- typed APIs --------------------------------------------------------------
//
// An `Api` is an interface of the methods one side answers:
//   interface Calc { add(a: number, b: number): number; greet(name: string): Promise<string> }
// `RpcStream<Calc>` checks calls against it; `createServer<Calc>(handler)` checks the
// handler. `Api = any` (the default) keeps everything as loose as the untyped API.

/** True only for `any`: the untyped default switches the checks off. */
type IsAny<T> = 0 extends 1 & T ? true : false

/** The names of `Api`'s methods. */
export type MethodName<Api> = {
  [K in keyof Api & string]: Api[K] extends (...args: any[]) => any ? K : never
}[keyof Api & string]

/** The params of `Api[M]`, as a caller sends them. */
export type MethodParams<Api, M extends MethodName<Api>> = Api[M] extends (...args: infer P) => any ? P : never

/** What a call to `Api[M]` resolves to (a Promise-returning method resolves to its value). */
export type MethodResult<Api, M extends MethodName<Api>> = Api[M] extends (...args: any[]) => infer R ? Awaited<R> : never

/**
 * The ways to send params `P` when a callback follows: an optional param may
 * be left out only with the ones after it, so `[a: A, b?: B]` gives `[A] | [A, B]`.
 */
type Sendable<P extends unknown[]> = P extends []
  ? []
  : number extends P['length']
    ? P // a rest param: any count may be sent
    : P extends [infer Head, ...infer Tail]
      ? [Head, ...Sendable<Tail>]
      : P extends [(infer Head)?, ...infer Tail]
        ? [] | [Head, ...Sendable<Tail>]
        : P

/**
 * An object implementing `Api`: every method takes the caller's params and
 * answers with its return value (or a Promise of it); in the default
 * (legacy) mode it may instead take a trailing `response` and answer through
 * it (then it returns nothing). A method with a rest param is typed without
 * `response`: serve it with `appendResponse: false`, or its rest param gets
 * the response too.
 */
export type Implementation<Api> = {
  [M in MethodName<Api>]: number extends MethodParams<Api, M>['length']
    ? (...params: MethodParams<Api, M>) => MethodResult<Api, M> | PromiseLike<MethodResult<Api, M>>
    : (
        ...paramsAndResponse: [...params: MethodParams<Api, M>, response: Response<MethodResult<Api, M>>]
      ) => MethodResult<Api, M> | PromiseLike<MethodResult<Api, M> | void> | void
}

/**
 * Request handlers: `method(...params, response)` (legacy) or
 * `method(...params)` returning the answer or a Promise of it. `Handler<Api>`
 * checks the handler against an interface of methods; plain `Handler` takes
 * any object.
 */
export type Handler<Api = any> = IsAny<Api> extends true
  ? { [method: string]: (...args: any[]) => unknown } | object
  : Implementation<Api>

/** The legacy callback: `(err, result)` with the values of README "Callback values". */
export type LegacyCallback<T = any> = (err: any, result: T) => void

/** `stream.invoke` on an untyped stream (`RpcStream` / `RpcStream<any>`). */
export interface UntypedInvoke {
  /** Legacy form: the last argument is `cb(err, result)`; returns false when the caller should wait for 'drain'. */
  (method: string, ...paramsAndCallback: [...params: any[], callback: LegacyCallback]): boolean
  /** Promise form. */
  <T = any>(method: string, ...params: Encodable[]): Promise<T>
}

/** `stream.invoke` on a typed stream: the method name, params and result come from `Api`. */
export interface TypedInvoke<Api> {
  /** Legacy form: the last argument is `cb(err, result)`; returns false when the caller should wait for 'drain'. */
  <M extends MethodName<Api>>(
    method: M,
    ...paramsAndCallback: [...params: Sendable<MethodParams<Api, M>>, callback: LegacyCallback<MethodResult<Api, M>>]
  ): boolean
  /** Promise form. */
  <M extends MethodName<Api>>(method: M, ...params: MethodParams<Api, M>): Promise<MethodResult<Api, M>>
}

/** `stream.invoke`: untyped or checked against `Api`. */
export type InvokeFn<Api> = IsAny<Api> extends true ? UntypedInvoke : TypedInvoke<Api>

/** `stream.request`: params as an array, per-call options. */
export type RequestFn<Api> = IsAny<Api> extends true
  ? <T = any>(method: string, params?: readonly Encodable[], options?: CallOptions) => Promise<T>
  : <M extends MethodName<Api>>(
      method: M,
      params: Readonly<MethodParams<Api, M>>,
      options?: CallOptions
    ) => Promise<MethodResult<Api, M>>

/** `stream.notify`: sends a notification; returns false when the caller should wait for 'drain'. */
export type NotifyFn<Api> = IsAny<Api> extends true
  ? (method: string, ...params: Encodable[]) => boolean
  : <M extends MethodName<Api>>(method: M, ...params: MethodParams<Api, M>) => boolean

// ---- options -------------------------------------------------------------------

/** Limits, buffering and handler rules shared by servers and clients. */
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
  /**
   * Whether request handlers get a `response` after the caller's params
   * (default true, the legacy rule). `false`: a handler is called with exactly
   * the params the caller sent and answers with what it returns or resolves
   * (`undefined` answers `null`; a throw or rejection answers the error).
   */
  appendResponse?: boolean
  /**
   * How an `Error` answered or thrown by a handler is sent (default false: its
   * message string, as the old module did). `true`: a map
   * `{ message, code, ...its own enumerable fields }`.
   */
  errorFields?: boolean
}

/** TCP keepalive, as `net` takes it (ignored on unix sockets). */
export interface KeepAliveOptions {
  /** Turn TCP keepalive on for every connection, so a vanished peer is eventually noticed. */
  keepAlive?: boolean
  /** Silence in ms before the first keepalive probe (default: the system's). */
  keepAliveInitialDelay?: number
}

export interface ServerOptions extends ConnectionOptions, KeepAliveOptions {
  /** Close a connection that received nothing for this many ms, has no request in progress and awaits no reply (default none). */
  idleTimeout?: number
  /** Close a connection with `ERR_MSGPACK_RPC_PROTOCOL` when a message is still incomplete this many ms after its first bytes arrived (slowloris; default none). */
  maxMessageTime?: number
  /** How long `close()` lets in-flight requests finish, in ms (default 5000). */
  closeTimeout?: number
  /** Connections past this many are closed as soon as they are accepted. */
  maxConnections?: number
  /** Bytes of replies queued on one connection past which it stops dispatching its requests until they drain (default 16 MiB). */
  maxQueuedReplies?: number
  /**
   * Bytes all connections together may hold for messages not yet complete
   * (default 256 MiB). Past it, the connection with the largest partial
   * message is closed with `ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE`.
   */
  maxBufferedBytes?: number
}

/** Backoff of a reconnecting client, in ms; `jitter` is the fraction of each delay randomised. */
export interface ReconnectOptions {
  /** Delay before the first attempt after a failure (default 100). */
  initialDelay?: number
  /** Largest delay (default 30000). */
  maxDelay?: number
  /** Each delay is the previous one times this (default 2). */
  factor?: number
  /** Fraction of each delay randomised, 0..1 (default 0.2). */
  jitter?: number
  /** Attempts after a failure before the client closes with the last error (default Infinity). */
  maxAttempts?: number
}

export interface ClientOptions extends ConnectionOptions, KeepAliveOptions {
  port?: number | string
  host?: string
  path?: string
  /** Methods answering requests the server sends to this client. */
  handler?: Handler | null
  /**
   * Connect again after a refused or lost connection, with exponential
   * backoff; calls made while down are queued. Calls already written when
   * a connection drops fail with `ERR_MSGPACK_RPC_CLOSED` (never re-sent).
   */
  reconnect?: boolean | ReconnectOptions
  /** Calls queued while a reconnecting client is down; past it `ERR_MSGPACK_RPC_QUEUE_FULL` (default 1024). */
  maxQueuedCalls?: number
  /** A connect attempt taking longer fails with code `ETIMEDOUT` (default none). */
  connectTimeout?: number
  /** How long `close()` waits for queued writes to flush before destroying the connection, in ms (default 5000). */
  closeTimeout?: number
}

export interface ListenOptions {
  port?: number | string
  host?: string
  path?: string
  backlog?: number
  /** A listening socket's descriptor to accept on (systemd socket activation passes 3); the server owns it from then on. */
  fd?: number
  /** A net.Server, a net.Socket or `{ fd }` whose listening socket the server takes over. */
  handle?: { fd: number } | import('node:net').Server | import('node:net').Socket
  /** SO_REUSEPORT: several processes (or workers) bind one port and the kernel spreads connections over them. */
  reusePort?: boolean
  /** In a node:cluster worker, bind in this process instead of sharing the port through the primary. */
  exclusive?: boolean
}

export interface CallOptions {
  /** Per-call timeout in ms; overrides `setTimeout()`. 0 turns it off. */
  timeout?: number
  signal?: AbortSignal
}

/** Options of `attach()` and `stdio()`. */
export interface AttachOptions extends ConnectionOptions {
  /** Methods answering requests the peer sends. */
  handler?: Handler | null
}

// ---- connections ------------------------------------------------------------------

/** The answer handle a legacy handler gets as its last argument. */
export class Response<T = Encodable> {
  readonly msgid: number
  readonly sent: boolean
  /** Answers with `value`; a second answer throws `ERR_MSGPACK_RPC_ALREADY_RESPONDED`. */
  result(value?: T): boolean
  /** Answers with an error value (an Error is sent as its message, or as a map with `errorFields`). */
  error(error: Encodable): boolean
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

/**
 * `stream.stats()`: counts since the stream opened. Every call sent is
 * answered, failed (an error answer, the close, an abort), timed out or
 * still pending. Latency is in ms, for the calls this side made that got a
 * reply, from a fixed-bucket histogram (within 2%).
 */
export interface StreamStats {
  calls: { sent: number; received: number; failed: number; timedOut: number; pending: number }
  notifications: { sent: number; received: number }
  bytes: { sent: number; received: number }
  latency: { count: number; p50: number; p90: number; p99: number; max: number }
}

/** `server.stats()`: its streams' stats summed, closed ones included, and its connections. */
export interface ServerStats extends StreamStats {
  connections: { open: number; total: number }
}

/**
 * One connection; the same class on both ends. `Api` types the calls this
 * side makes (the peer's methods); the default `any` leaves them unchecked.
 * Made by `createClient`, `connect`, `attach`, `spawn`, `stdio`, a server's
 * `'connection'` event and `createUdpClient`; never with `new`.
 */
export class RpcStream<Api = any> extends EventEmitter {
  private constructor()
  readonly stream: StreamSocket
  readonly handler: Handler | undefined
  readonly pendingCalls: number
  readonly closed: boolean
  /** Whether a connection is up (a reconnecting client may be between connections). */
  readonly connected: boolean
  /**
   * Calls `method` on the peer. With a callback last, `cb(err, result)` gets
   * the legacy values and it returns false when the caller should wait for
   * 'drain'; without one, a Promise of the result.
   */
  invoke: InvokeFn<Api>
  /** Calls `method` with an array of params and per-call options (`timeout`, `signal`). */
  request: RequestFn<Api>
  /** Sends a notification (no reply); returns false when the caller should wait for 'drain'. */
  notify: NotifyFn<Api>
  setTimeout(ms?: number): this
  /** Counts since this stream opened (README "Observability"). */
  stats(): StreamStats
  close(cb: () => void): this
  close(): Promise<void>
  ref(): this
  unref(): this
  [Symbol.asyncDispose](): Promise<void>

  on(event: 'ready' | 'close' | 'drain', listener: () => void): this
  on(event: 'request', listener: (method: string, params: any[], response: Response) => void): this
  on(event: 'notify', listener: (method: string, params: any[]) => void): this
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  /** A reconnecting client lost its connection. */
  on(event: 'disconnect', listener: (err: Error & { code?: string }) => void): this
  /** A reconnecting client waits `delay` ms before attempt number `attempt`. */
  on(event: 'reconnecting', listener: (info: { attempt: number; delay: number }) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'ready' | 'close' | 'drain', listener: () => void): this
  once(event: 'request', listener: (method: string, params: any[], response: Response) => void): this
  once(event: 'notify', listener: (method: string, params: any[]) => void): this
  once(event: 'error', listener: (err: Error & { code?: string }) => void): this
  once(event: 'disconnect', listener: (err: Error & { code?: string }) => void): this
  once(event: 'reconnecting', listener: (info: { attempt: number; delay: number }) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
export { RpcStream as Client }

/** `function (rpcStream)`, run for each connection. */
export type ConnectionListener = (stream: RpcStream) => void

/** A server; `Api` is the interface its handler implements (default: unchecked). */
export class Server<Api = any> extends EventEmitter {
  constructor(listener?: ConnectionListener | Handler<Api>, options?: ServerOptions)
  readonly handler: Handler<Api> | undefined
  readonly listening: boolean
  readonly connections: RpcStream[]
  maxConnections: number | undefined
  setHandler(handler: Handler<Api>): this
  listen(port?: number | string, host?: string, backlog?: number, callback?: () => void): this
  listen(port?: number | string, host?: string, callback?: () => void): this
  listen(port?: number | string, callback?: () => void): this
  listen(path: string, callback?: () => void): this
  listen(options: ListenOptions, callback?: () => void): this
  close(callback: (err?: Error) => void): this
  close(): Promise<void>
  address(): { address: string; family: string; port: number } | string | null
  getConnections(cb: (err: Error | null, count: number) => void): this
  /** Every connection's stats summed, closed ones included, plus `connections: { open, total }`. */
  stats(): ServerStats
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

export interface SessionPoolOptions extends ConnectionOptions, KeepAliveOptions {
  reconnect?: boolean | ReconnectOptions
  maxQueuedCalls?: number
  connectTimeout?: number
  closeTimeout?: number
  /** Close and evict a client that made no call for this many ms (default none). */
  idleTimeout?: number
}

export class SessionPool {
  constructor(options?: SessionPoolOptions)
  clients: Record<string, RpcStream>
  /** The client for this address; `Api` types its calls. */
  getClient<Api = any>(port: number | string, host?: string): RpcStream<Api>
  closeClients(): Promise<void[]>
}

// ---- balancing ------------------------------------------------------------------

/** One server of a balancer: a port (on localhost), `'host:port'`, `'[v6]:port'`, a socket path, `{ host, port }` or `{ path }`. */
export type BalancerTarget = number | string | { host?: string; port: number | string } | { path: string }

/** `dns.lookup`'s shape with `all: true`: every address of `hostname`. */
export type BalancerLookup = (
  hostname: string,
  options: { all: true },
  callback: (err: (Error & { code?: string }) | null, addresses: ReadonlyArray<{ address: string; family?: number }>) => void
) => void

/** The balancer's own options and the connection options every target's client gets. */
export interface BalancerOptions extends ConnectionOptions, KeepAliveOptions {
  /** `'least-pending'` (default; ties taken in turn) or `'round-robin'`. */
  strategy?: 'least-pending' | 'round-robin'
  /** Per-call timeout in ms, counted from the call (time queued included); default none. */
  timeout?: number
  /** Calls and notifications waiting while no target is up; past it `ERR_MSGPACK_RPC_QUEUE_FULL` (default 1024). */
  maxQueuedCalls?: number
  /** With a host name as the targets: resolve it again every this many ms (default 30000). */
  resolveInterval?: number
  /** Resolves the host name instead of `dns.lookup` (same signature, called with `{ all: true }`). */
  lookup?: BalancerLookup
  /** The targets' reconnect backoff; a target is never given up, so there is no `maxAttempts`. */
  reconnect?: true | Omit<ReconnectOptions, 'maxAttempts'>
  /** Methods answering requests a server sends back on a target's connection. */
  handler?: Handler | null
  /** A connect attempt taking longer fails (and is retried) (default none). */
  connectTimeout?: number
  /** How long closing a target's connection waits for queued writes, in ms (default 5000). */
  closeTimeout?: number
}

export interface BalancerCallOptions extends CallOptions {
  /** Safe to run twice: a call whose connection drops before the reply is sent once more, to another target when one is up. */
  idempotent?: boolean
}

/** A snapshot of one target (`balancer.targets`). */
export interface BalancerTargetInfo {
  /** `host:port` or the socket path. */
  address: string
  state: 'up' | 'connecting' | 'down'
  /** Calls sent on it awaiting their reply. */
  pending: number
  /** Calls sent on it so far (notifications not counted). */
  calls: number
}

/** What a resolution of the host name found (`'resolve'`). */
export interface BalancerResolution {
  addresses: string[]
  added: string[]
  removed: string[]
}

/** `balancer.invoke`: a stream's, but the callback form returns nothing. */
export type BalancerInvokeFn<Api> = IsAny<Api> extends true
  ? {
      (method: string, ...paramsAndCallback: [...params: any[], callback: LegacyCallback]): void
      <T = any>(method: string, ...params: Encodable[]): Promise<T>
    }
  : {
      <M extends MethodName<Api>>(
        method: M,
        ...paramsAndCallback: [...params: Sendable<MethodParams<Api, M>>, callback: LegacyCallback<MethodResult<Api, M>>]
      ): void
      <M extends MethodName<Api>>(method: M, ...params: MethodParams<Api, M>): Promise<MethodResult<Api, M>>
    }

/** `balancer.request`: a stream's, with `idempotent` among the per-call options. */
export type BalancerRequestFn<Api> = IsAny<Api> extends true
  ? <T = any>(method: string, params?: readonly Encodable[], options?: BalancerCallOptions) => Promise<T>
  : <M extends MethodName<Api>>(
      method: M,
      params: Readonly<MethodParams<Api, M>>,
      options?: BalancerCallOptions
    ) => Promise<MethodResult<Api, M>>

/** Spreads calls over several servers (`rpc.createBalancer`); `Api` types its calls. */
export class Balancer<Api = any> extends EventEmitter {
  private constructor()
  /** The targets calls may go to (a removed one still finishing its calls is not listed). */
  readonly targets: BalancerTargetInfo[]
  /** Calls `method` on one target: the legacy callback values, or a Promise without a callback. */
  invoke: BalancerInvokeFn<Api>
  /** Calls `method` with an array of params and per-call options (`timeout`, `signal`, `idempotent`). */
  request: BalancerRequestFn<Api>
  /** Sends a notification to one target; false when it was dropped (closed, queue full) or the write backlog is high. */
  notify: NotifyFn<Api>
  setTimeout(ms?: number): this
  close(cb: () => void): this
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>

  on(event: 'up', listener: (address: string) => void): this
  /** `err`: why the connection was lost; undefined when a connect attempt failed. */
  on(event: 'down', listener: (address: string, err: (Error & { code?: string }) | undefined) => void): this
  on(event: 'resolve', listener: (resolution: BalancerResolution) => void): this
  /** A resolution of the host name failed (the targets stay); emitted only while someone listens. */
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  on(event: 'close', listener: () => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'up', listener: (address: string) => void): this
  once(event: 'down', listener: (address: string, err: (Error & { code?: string }) | undefined) => void): this
  once(event: 'resolve', listener: (resolution: BalancerResolution) => void): this
  once(event: 'error', listener: (err: Error & { code?: string }) => void): this
  once(event: 'close', listener: () => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

/**
 * A balancer over a list of targets, or over every address of a host name
 * (`'svc.example:7777'`, re-resolved every `resolveInterval` ms).
 */
export function createBalancer<Api = any>(targets: readonly BalancerTarget[] | string | number, options?: BalancerOptions): Balancer<Api>

export function createServer<Api = any>(listener?: ConnectionListener | Handler<Api>, options?: ServerOptions): Server<Api>
export function createClient<Api = any>(port: number | string, host?: string, readyCb?: () => void): RpcStream<Api>
export function createClient<Api = any>(port: number | string, host: string, options: ClientOptions, readyCb?: () => void): RpcStream<Api>
export function createClient<Api = any>(port: number | string, options: ClientOptions, readyCb?: () => void): RpcStream<Api>
export function createClient<Api = any>(port: number | string, readyCb?: () => void): RpcStream<Api>
export function createClient<Api = any>(path: string, readyCb?: () => void): RpcStream<Api>
export function createClient<Api = any>(options: ClientOptions, readyCb?: () => void): RpcStream<Api>
/** Resolves with a connected client; rejects with the connect error. */
export function connect<Api = any>(port: number | string, host?: string, options?: ClientOptions): Promise<RpcStream<Api>>
export function connect<Api = any>(target: number | string | ClientOptions, options?: ClientOptions): Promise<RpcStream<Api>>
/** Creates a server and resolves once it listens. */
export function listen<Api = any>(
  port: number | string,
  host: string,
  handler: ConnectionListener | Handler<Api>,
  options?: ServerOptions
): Promise<Server<Api>>
export function listen<Api = any>(
  target: number | string | ListenOptions,
  handler?: ConnectionListener | Handler<Api>,
  options?: ServerOptions
): Promise<Server<Api>>

export interface SpawnOptions extends ConnectionOptions {
  /** Methods answering requests the child sends. */
  handler?: Handler | null
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Only the third entry (stderr) is used: 'inherit' (default), 'pipe' or 'ignore'. */
  stdio?: [unknown, unknown, 'inherit' | 'pipe' | 'ignore']
}

/** A stream over a child process; `process` is the ChildProcess. */
export interface SpawnedStream<Api = any> extends RpcStream<Api> {
  process: import('node:child_process').ChildProcess
}

/**
 * Runs MessagePack-RPC over a Duplex you already have (a TLS socket, a pipe, a WebSocket stream).
 * `Api` types the calls made to the peer.
 */
export function attach<Api = any>(duplex: import('node:stream').Duplex, handler?: Handler, options?: AttachOptions): RpcStream<Api>
export function attach<Api = any>(duplex: import('node:stream').Duplex, options: AttachOptions & { handler: Handler }): RpcStream<Api>
/** Starts `command` and talks MessagePack-RPC over its stdin/stdout (e.g. `nvim --embed`). */
export function spawn<Api = any>(command: string, args?: readonly string[], options?: SpawnOptions): SpawnedStream<Api>
export function spawn<Api = any>(command: string, options?: SpawnOptions): SpawnedStream<Api>
/** Serves (and calls) over this process's stdin/stdout; other stdout output goes to stderr from then on. */
export function stdio<Api = any>(handler?: Handler, options?: AttachOptions): RpcStream<Api>
export function stdio<Api = any>(options: AttachOptions & { handler: Handler }): RpcStream<Api>

export interface UdpOptions extends ConnectionOptions {
  /** Largest datagram sent or accepted (default 65507). */
  maxDatagramSize?: number
  handler?: Handler | null
}

export interface UdpServerOptions extends UdpOptions {
  /** A peer that sent nothing for this many ms, with no call of ours in flight to it, is forgotten (default 60000). */
  peerIdleTimeout?: number
}

/** A UDP server: one message per datagram; each remote address is its own RpcStream. */
export class UdpServer<Api = any> extends EventEmitter {
  constructor(listener?: ConnectionListener | Handler<Api>, options?: UdpServerOptions)
  setHandler(handler: Handler<Api>): this
  listen(port?: number, host?: string, callback?: () => void): this
  listen(port: number, callback: () => void): this
  listen(callback: () => void): this
  address(): import('node:net').AddressInfo | null
  /** The peers currently known (each an RpcStream). */
  readonly connections: RpcStream<Api>[]
  getConnections(cb: (err: Error | null, count: number) => void): this
  /** As `Server#stats()`; `connections` counts peers (known now, and ever seen). */
  stats(): ServerStats
  /** `callback(err)` gets ERR_SERVER_NOT_RUNNING when the server was not listening. */
  close(callback: (err?: Error) => void): this
  close(): Promise<void>
  ref(): this
  unref(): this
  on(event: 'listening' | 'close', listener: () => void): this
  on(event: 'connection', listener: (peer: RpcStream) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'listening' | 'close', listener: () => void): this
  once(event: 'connection', listener: (peer: RpcStream) => void): this
  once(event: 'error', listener: (err: Error) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
export function createUdpServer<Api = any>(listener?: ConnectionListener | Handler<Api>, options?: UdpServerOptions): UdpServer<Api>
/** A UDP client for one server address. There is no retransmission: give calls a timeout. */
export function createUdpClient<Api = any>(port: number, host?: string, options?: UdpOptions): RpcStream<Api>
export function createUdpClient<Api = any>(port: number, options: UdpOptions): RpcStream<Api>

/** Encodes one value with the library's value table. */
export function encode(value: Encodable): Buffer
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
  createBalancer: typeof createBalancer
  Balancer: typeof Balancer
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
