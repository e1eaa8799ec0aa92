// Compiles cleanly: every public form, checked by types.test.js with tsc --noEmit.
import rpc, { createServer, createClient, connect, listen, attach, spawn, stdio, createUdpServer, createUdpClient, encode, RemoteError, codes, Ext, Server, SessionPool, UdpServer, type MsgpackValue, type Encodable, type ErrorCode, type Client, type Handler, type RpcStream, type Response } from 'msgpack-rpc'
import * as net from 'node:net'

const server = createServer({ add: (a: number, b: number, res: Response) => res.result(a + b) }, { maxMessageSize: 1 << 20, closeTimeout: 100 })
server.setHandler({ async ping() { return 'pong' } })
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') console.log(address.port)
})
// Scaling out: SO_REUSEPORT, an inherited descriptor, a handle, cluster-exclusive.
export const scaled = [
  createServer().listen({ port: 7777, host: '127.0.0.1', reusePort: true }),
  createServer().listen({ fd: 3 }),
  createServer().listen({ handle: net.createServer(), exclusive: true }),
]
server.on('connection', (stream: RpcStream) => {
  stream.on('request', (method: string, params: any[], response) => response.result(method))
  stream.on('notify', (method, params) => console.log(method, params.length))
})

const client = createClient(1234, '127.0.0.1', () => {})
const ok: boolean = client.invoke('add', 1, 2, (err: unknown, result: unknown) => console.log(err, result))
const p: Promise<number> = client.invoke<number>('add', 1, 2)
client.request('add', [1, 2], { timeout: 100, signal: new AbortController().signal }).catch((err) => {
  if (err instanceof RemoteError) console.log(err.data, err.code === codes.REMOTE)
})
client.notify('event', { a: [1, 'b', null, 2n, new Date(), Buffer.from('x'), new Ext(3, Buffer.alloc(1))] })
client.setTimeout(1000).unref().ref()
client.stream.on('close', (hadError: boolean) => console.log(hadError, client.stream.remoteAddress))
client.on('error', (err) => console.log(err.code))
const closed: Promise<void> = client.close()

async function modern(): Promise<void> {
  const s = await listen({ port: 0 }, { echo: async (v: MsgpackValue) => v })
  const c = await connect(1234, '127.0.0.1')
  const v: MsgpackValue = await c.invoke('echo', new Map([[1, 'one']]))
  console.log(v)
  await c[Symbol.asyncDispose]()
  await s.close()
}

const nvim = spawn('nvim', ['--embed'], { handler: { ping: () => 'pong' }, stdio: ['pipe', 'pipe', 'ignore'] })
nvim.process.on('exit', (code) => console.log(code))
const attached: RpcStream = attach(net.connect(1234), { hello: () => 'hi' })
const self: RpcStream = stdio({ add: (a: number, b: number) => a + b })
const udp = createUdpServer((peer: RpcStream) => peer.notify('welcome'), { maxDatagramSize: 1200 })
udp.listen(0, '127.0.0.1', () => console.log(udp.address()?.port))
const udpClient = createUdpClient(1234, '127.0.0.1', { timeout: 500 })
void attached, self, udpClient

const pool = new SessionPool()
pool.getClient(1234, '127.0.0.1').invoke('x', () => {})
void pool.closeClients()
void ok, p, closed, modern
void rpc.codes.TIMEOUT

// Values typed with interfaces, classes and readonly arrays can be sent.
interface Point {
  x: number
  y: number
}
class Line {
  constructor(readonly from: Point, readonly to: Point) {}
  length(): number {
    return Math.hypot(this.to.x - this.from.x, this.to.y - this.from.y)
  }
}
const point: Point = { x: 1, y: 2 }
const points: readonly Point[] = [point]
const tuple = [1, 'two', null] as const
const byName: ReadonlyMap<string, Point> = new Map([['p', point]])
client.notify('points', point, points, tuple, byName, new Line(point, point), new Set([1]), new Float64Array(2))
void client.invoke('draw', point, points, (err: unknown) => console.log(err))
void client.request('draw', [point, points] as const)
const bytes: Buffer = encode({ point, points, at: new Date(), err: new Error('sent as its message') })
const anything: Encodable = points
createServer({ origin: (): Point => ({ x: 0, y: 0 }) })
createServer().on('connection', (stream) =>
  stream.on('request', (method, params, response) => response.result(method === 'origin' ? point : points))
)

// A typed client: names, params and results are checked against the interface.
interface Calc {
  add(a: number, b: number): number
  greet(name: string, greeting?: string): Promise<string>
  centre(shape: readonly Point[]): Point
  sum(...values: number[]): number
  reset(): void
}
async function typedClient(): Promise<void> {
  const calc = await connect<Calc>(1234, '127.0.0.1', { timeout: 500, appendResponse: false, errorFields: true })
  const three: number = await calc.invoke('add', 1, 2)
  const hello: string = await calc.invoke('greet', 'bob')
  const hi: string = await calc.invoke('greet', 'bob', 'hi')
  const centre: Point = await calc.invoke('centre', points)
  const total: number = await calc.invoke('sum', 1, 2, 3)
  const done: void = await calc.invoke('reset')
  const wrote: boolean = calc.invoke('add', 1, 2, (err, sum) => console.log(err, sum.toFixed(1)))
  calc.invoke('greet', 'bob', (err, greeting) => console.log(err, greeting.toUpperCase()))
  calc.invoke('greet', 'bob', 'hi', (err, greeting) => console.log(err, greeting.length))
  const four: number = await calc.request('add', [2, 2], { timeout: 100 })
  const args = [2, 3] as const
  await calc.request('add', args)
  calc.notify('reset')
  const typed: RpcStream<Calc> = createClient<Calc>({ port: 1234, host: '127.0.0.1' })
  const udpCalc: RpcStream<Calc> = createUdpClient<Calc>(1234, '127.0.0.1', { timeout: 500 })
  const child = spawn<Calc>(process.execPath, ['peer.js'], { appendResponse: false })
  const piped: RpcStream<Calc> = attach<Calc>(net.connect(1234), { handler: { ping: () => 'pong' }, errorFields: true })
  const pooled: RpcStream<Calc> = new SessionPool().getClient<Calc>(1234)
  const byOptions: Client<Calc> = await connect<Calc>(1234, { host: '127.0.0.1', maxMessageSize: 1 << 20 })
  const loose: RpcStream = byOptions
  const again: RpcStream<Calc> = loose
  await child.invoke('add', 1, 2)
  void three, hello, hi, centre, total, done, wrote, four, typed, udpCalc, piped, pooled, again
}

// A typed server: the handler must implement the interface, in either shape.
const calcHandler: Handler<Calc> = {
  add: (a, b) => a + b,
  async greet(name, greeting = 'hello') {
    return `${greeting}, ${name}`
  },
  centre(shape, response) {
    response.result(shape[0] ?? { x: 0, y: 0 })
  },
  sum: (...values) => values.reduce((a, b) => a + b, 0),
  reset() {},
}
const calcServer: Server<Calc> = createServer<Calc>(calcHandler, {
  appendResponse: false,
  errorFields: true,
  maxBufferedBytes: 64 << 20,
  maxQueuedReplies: 1 << 20,
})
calcServer.setHandler(calcHandler)
class CalcService implements Calc {
  private calls = 0
  add(a: number, b: number): number {
    this.calls++
    return a + b
  }
  async greet(name: string, greeting?: string): Promise<string> {
    return `${greeting ?? 'hello'}, ${name}`
  }
  centre(shape: readonly Point[]): Point {
    return shape[0] ?? { x: 0, y: 0 }
  }
  sum(...values: number[]): number {
    return values.length
  }
  reset(): void {
    this.calls = 0
  }
}
calcServer.setHandler(new CalcService())
const decoded: MsgpackValue = { echoed: [1, 'two'] }
const echoed: Encodable = decoded
new Server<Calc>(calcHandler).close(() => {})
void listen<Calc>({ port: 0, host: '127.0.0.1' }, calcHandler)
const udpServer: UdpServer<Calc> = createUdpServer<Calc>(calcHandler, { peerIdleTimeout: 10000, maxDatagramSize: 1200 })
void udpServer

// RpcStream and Client are one class, usable with instanceof.
function isStream(value: unknown): boolean {
  return value instanceof rpc.Client && value instanceof rpc.RpcStream && value.pendingCalls >= 0
}
const code: ErrorCode = codes.HANDLER
const more: ErrorCode[] = [codes.CALLBACK, codes.INTERNAL, codes.NO_ADDON]
void bytes, anything, typedClient, isStream, code, more, echoed

// The argument forms added with the option checks.
export async function argumentForms(port: number): Promise<void> {
  const a = rpc.createClient(port, { host: '127.0.0.1', timeout: 1000 })
  const b = rpc.createClient(port, '127.0.0.1', { timeout: 1000 }, () => undefined)
  const server = await rpc.listen(0, '127.0.0.1', { ping: () => 'pong' }, { appendResponse: false })
  const udp = rpc.createUdpServer({ ping: () => 'pong' }, { peerIdleTimeout: 1000 })
  udp.listen(() => undefined)
  const peers: number = udp.connections.length
  udp.getConnections((err, count) => count + peers)
  udp.close((err) => err && err.message)
  const c = rpc.createUdpClient(port, { timeout: 100 })
  await Promise.all([a.close(), b.close(), c.close(), server.close()])
}

// stats(): the same shape on streams, servers (plus connections) and UDP servers.
function readStats(stream: RpcStream, srv: Server, udp: UdpServer): number {
  const mine = stream.stats()
  const theirs = srv.stats()
  return mine.calls.failed + mine.latency.p99 + theirs.connections.open + theirs.bytes.received + udp.stats().connections.total
}
void readStats
