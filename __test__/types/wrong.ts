// Must NOT compile: types.test.js checks tsc reports each marked line.
import { createClient, createServer } from 'msgpack-rpc'

const client = createClient(1234)
client.setTimeout('soon') // error: string is not a number
client.notify(42) // error: method must be a string
const n: number = client.close() // error: close() returns a Promise
createServer().listen({ port: 0 }, 'not a callback') // error: no such overload
