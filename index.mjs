// ESM entry: the same objects as require('msgpack-rpc').
import rpc from './index.js'

export const {
  createServer,
  createClient,
  createBalancer,
  Balancer,
  createUdpServer,
  createUdpClient,
  attach,
  spawn,
  stdio,
  UdpServer,
  connect,
  listen,
  Server,
  RpcStream,
  Client,
  Response,
  SessionPool,
  Ext,
  encode,
  decode,
  codes,
  RpcError,
  RemoteError,
  TimeoutError,
  ClosedError,
  AbortError,
} = rpc
export default rpc
