// Must NOT compile: every line after `@ts-expect-error` has to be a type error.
import { createBalancer } from 'msgpack-rpc'

interface Calc {
  add(a: number, b: number): number
}

// @ts-expect-error an unknown strategy
createBalancer([7777], { strategy: 'random' })
// @ts-expect-error a target is never given up: no maxAttempts
createBalancer([7777], { reconnect: { maxAttempts: 3 } })
// @ts-expect-error a target is a port, a string or an address object
createBalancer([true])
// @ts-expect-error idempotent is a boolean
void createBalancer([7777]).request('add', [1, 2], { idempotent: 'yes' })
const typed = createBalancer<Calc>(7777)
// @ts-expect-error a typed balancer checks the method
void typed.invoke('sub', 1, 2)
// @ts-expect-error and the params
void typed.request('add', ['1', 2])
// @ts-expect-error the callback form returns nothing
const written: boolean = createBalancer(7777).invoke('add', 1, 2, () => undefined)
void written
