import { Socket } from 'node:net'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { overriding } from '../overriding.js'

/**
 * Two changes to how libp2p's TCP and yamux write. A gossip message between two nodes took
 * four socket writes and takes one; in the lab's 10-node fan-out a node's CPU fell by about
 * a tenth (socket writes had been 8 to 11% of its profile: on a namespace's veth, a write
 * costs the sender the packet's trip through the bridge).
 *
 *  - Noise hands each encrypted frame to TCP as two buffers (a 2-byte length, then the
 *    ciphertext) and TCP writes each with its own write(2). Here the socket is corked for
 *    the rest of the tick in which the first buffer arrives, so what a tick writes to one
 *    connection leaves in one writev(2). Past 32 KiB it is written at once: bulk data is
 *    not held back.
 *  - yamux answers every data frame with a window update (a frame back, another write, a
 *    read and a decryption on the sender). Here an established stream sends its update once
 *    half of its receive window is used, as Go's yamux does; a stream still opening, or one
 *    past half its window, behaves as before.
 */

/** a corked socket holding this much writes it out at once */
const FLUSH_AT_BYTES = 32 * 1024

type Factory = (components: any) => Transport

/** `tcp()`, with every connection's writes gathered per tick (see above). */
export function coalescingTcp (init?: TCPOptions): Factory {
  const make = tcp(init) as Factory
  return components => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options) => await dial(ma, { ...options, upgrader: corkingUpgrader(options.upgrader) })
    transport.createListener = options => createListener({ ...options, upgrader: corkingUpgrader(options.upgrader) })
    return transport
  }
}

function corkingUpgrader (upgrader: Upgrader): Upgrader {
  return overriding(upgrader, {
    upgradeInbound: async (maConn, opts) => { await upgrader.upgradeInbound(corkPerTick(maConn), opts) },
    upgradeOutbound: async (maConn, opts) => await upgrader.upgradeOutbound(corkPerTick(maConn), opts)
  })
}

/**
 * Corks the connection's socket when a tick first sends on it, and uncorks it at the end of
 * that tick. A connection of another shape (not a TCP socket) is returned as it is.
 */
export function corkPerTick (maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as unknown as { socket?: unknown, sendData?: (data: unknown) => unknown }
  const socket = conn.socket
  const sendData = conn.sendData
  if (!(socket instanceof Socket) || typeof sendData !== 'function') return maConn
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  conn.sendData = (data: unknown) => {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    const result = sendData.call(maConn, data) as { sentBytes: number, canSendMore: boolean }
    // Bulk data is not held back for the tick: the receiver starts on the first frames
    // while the rest is still being encrypted.
    if (socket.writableLength >= FLUSH_AT_BYTES || !result.canSendMore) {
      socket.uncork()
      socket.cork()
      // A corked socket says "full" once it holds its high-water mark (16 KiB), and libp2p
      // then waits for 'drain'. What it held is written now, so only a socket that is still
      // full once written holds the stream back. (Without this, a sender whose writes chain
      // through promises waited for the end of the chain each time: 9,300 -> 1,000 msg/s.)
      if (!result.canSendMore) return { ...result, canSendMore: socket.writableLength < socket.writableHighWaterMark }
    }
    return result
  }
  return maConn
}

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

let windowUpdatesDeferred = false

/** Makes yamux streams send window updates at half a window (see above); once per process. */
export function deferWindowUpdates (): void {
  if (windowUpdatesDeferred) return
  windowUpdatesDeferred = true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowFields) => void }
  const sendWindowUpdate = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowFields) {
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 >= this.recvWindow) return
    sendWindowUpdate.call(this)
  }
}
