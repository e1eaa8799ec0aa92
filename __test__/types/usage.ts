// Compiles cleanly: every public form, checked by types.test.js with tsc --noEmit.
import rpc, { createServer, createClient, connect, listen, attach, spawn, stdio, createUdpServer, createUdpClient, RemoteError, codes, Ext, SessionPool, type MsgpackValue, type RpcStream, type Response } from 'msgpack-rpc'
import * as net from 'node:net'

const server = createServer({ add: (a: number, b: number, res: Response) => res.result(a + b) }, { maxMessageSize: 1 << 20, closeTimeout: 100 })
server.setHandler({ async ping() { return 'pong' } })
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') console.log(address.port)
})
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
