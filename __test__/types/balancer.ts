// Must compile: the documented forms of rpc.createBalancer.
import dns from 'node:dns'
import rpc, { createBalancer, Balancer, type BalancerTargetInfo } from 'msgpack-rpc'

interface Calc {
  add(a: number, b: number): number
}

async function use(): Promise<void> {
  const b: Balancer = createBalancer([7777, '10.0.0.2:7777', '[::1]:7777', { host: 'a', port: 7777 }, { path: '/tmp/s.sock' }, '/tmp/t.sock'])
  const viaDns = rpc.createBalancer('svc.example:7777', { lookup: dns.lookup, resolveInterval: 5000, strategy: 'round-robin' })
  const custom = createBalancer('svc.example:7777', {
    lookup: (host, options, cb) => cb(null, [{ address: '10.0.0.1', family: 4 }]),
    reconnect: { initialDelay: 50, maxDelay: 2000 },
    maxQueuedCalls: 10,
    timeout: 1000,
    keepAlive: true,
  })
  b.invoke('add', 1, 2, (err: unknown, result: number) => void [err, result])
  const sum: number = await b.invoke<number>('add', 1, 2)
  const again: unknown = await b.request('add', [1, 2], { timeout: 100, signal: AbortSignal.timeout(100), idempotent: true })
  const sent: boolean = b.notify('log', 'x')
  const snapshot: BalancerTargetInfo[] = b.targets
  b.on('up', (address: string) => void address)
  b.on('down', (address: string, err) => void [address, err && err.code])
  b.on('resolve', ({ addresses, added, removed }) => void [addresses, added, removed])
  b.on('error', (err) => void err.code)
  const typed = createBalancer<Calc>(7777)
  const three: number = await typed.request('add', [1, 2], { idempotent: true })
  const four: number = await typed.invoke('add', 2, 2)
  await viaDns.close()
  custom.close(() => undefined)
  await using disposed = createBalancer([7777])
  void [sum, again, sent, snapshot, three, four, disposed, b.setTimeout(100)]
}
void use
