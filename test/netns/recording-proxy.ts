/**
 * A TCP proxy that records every byte it forwards, both ways, to a file: the wire as an
 * eavesdropper on the segment would see it. Used by wire.test.ts inside a namespace.
 * Usage: node recording-proxy.js LISTEN_HOST:PORT TARGET_HOST:PORT OUT_FILE
 * Prints "listening" on stdout once ready; stops on SIGTERM.
 */
import { createWriteStream } from 'node:fs'
import { createConnection, createServer } from 'node:net'

const [listen, target, outFile] = process.argv.slice(2)
if (listen == null || target == null || outFile == null) {
  process.stderr.write('usage: recording-proxy LISTEN_HOST:PORT TARGET_HOST:PORT OUT_FILE\n')
  process.exit(2)
}
const split = (hostPort: string): [string, number] => {
  const at = hostPort.lastIndexOf(':')
  return [hostPort.slice(0, at), Number(hostPort.slice(at + 1))]
}
const out = createWriteStream(outFile)
const [targetHost, targetPort] = split(target)
const server = createServer(client => {
  const upstream = createConnection(targetPort, targetHost)
  client.on('data', chunk => { out.write(chunk); upstream.write(chunk) })
  upstream.on('data', chunk => { out.write(chunk); client.write(chunk) })
  const close = (): void => { client.destroy(); upstream.destroy() }
  client.on('error', close).on('close', close)
  upstream.on('error', close).on('close', close)
})
const [host, port] = split(listen)
server.listen(port, host, () => { process.stdout.write('listening\n') })
process.on('SIGTERM', () => { server.close(); out.end(() => process.exit(0)) })
