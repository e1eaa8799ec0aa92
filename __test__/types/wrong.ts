// Must NOT compile: every line after `@ts-expect-error` has to be a type error, and
// tsc fails (types.test.js) as soon as one of them stops being one.
import rpc, { connect, createClient, createServer, encode, listen, RpcStream, Server, type Handler } from 'msgpack-rpc'

const client = createClient(1234)
// @ts-expect-error a timeout is a number
client.setTimeout('soon')
// @ts-expect-error a method name is a string
client.notify(42)
// @ts-expect-error close() without a callback returns a Promise
const n: number = client.close()
// @ts-expect-error no listen() overload takes a string after the options
createServer().listen({ port: 0 }, 'not a callback')

// Values that cannot be encoded.
// @ts-expect-error a function is not a value
client.notify('f', () => 1)
// @ts-expect-error a symbol is not a value
void client.invoke('f', Symbol('s'))
// @ts-expect-error nor inside an array
encode([1, () => 1])
// @ts-expect-error nor inside an object literal
encode({ callback: () => 1 })

interface Calc {
  add(a: number, b: number): number
  greet(name: string, greeting?: string): Promise<string>
  reset(): void
  version: string
}

async function typedClient(): Promise<void> {
  const calc = await connect<Calc>(1234)
  // @ts-expect-error no such method
  await calc.invoke('sub', 1, 2)
  // @ts-expect-error a property is not a method
  await calc.invoke('version')
  // @ts-expect-error a param of the wrong type
  await calc.invoke('add', 1, '2')
  // @ts-expect-error a param missing
  await calc.invoke('add', 1)
  // @ts-expect-error a param too many
  await calc.invoke('reset', 1)
  // @ts-expect-error the result is a number
  const sum: string = await calc.invoke('add', 1, 2)
  // @ts-expect-error the greeting is a string, not a number
  ;(await calc.invoke('greet', 'bob')).toFixed()
  // @ts-expect-error the callback's result is a number
  calc.invoke('add', 1, 2, (err, result: string) => console.log(err, result))
  // @ts-expect-error a wrong param before the callback
  calc.invoke('greet', 42, (err, result) => console.log(err, result))
  // @ts-expect-error request() checks params too
  await calc.request('add', [1, '2'])
  // @ts-expect-error and the result
  const total: string = await calc.request('add', [1, 2])
  // @ts-expect-error notify() checks the method name
  calc.notify('sub', 1)
  // @ts-expect-error and its params
  calc.notify('add', 1, 2, 3)
  void sum, total
}

// @ts-expect-error a handler missing a method
createServer<Calc>({ add: (a, b) => a + b, greet: async (name) => name })
// @ts-expect-error a handler returning the wrong type
const wrongResult: Handler<Calc> = { add: (a, b) => `${a + b}`, greet: async (name) => name, reset() {} }
// @ts-expect-error a handler resolving the wrong type
const wrongAsync: Handler<Calc> = { add: async (a, b) => `${a + b}`, greet: async (name) => name, reset() {} }
// @ts-expect-error a handler taking the wrong param type
const wrongParam: Handler<Calc> = { add: (a: string, b: number) => b, greet: async (name) => name, reset() {} }
// @ts-expect-error a legacy handler answering the wrong type
const wrongAnswer: Handler<Calc> = { add: (a, b, res) => void res.result('three'), greet: async (n) => n, reset() {} }
// @ts-expect-error setHandler checks too
new Server<Calc>().setHandler({ add: (a: number, b: number) => a + b })
// @ts-expect-error and listen()
void listen<Calc>(0, { greet: async (name: string) => name })

// Streams come from createClient/connect/attach/a server, never from `new`.
// @ts-expect-error no public constructor
new rpc.Client()
// @ts-expect-error no public constructor
new RpcStream()
void n, typedClient, wrongResult, wrongAsync, wrongParam, wrongAnswer
