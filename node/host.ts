import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { FaultTolerance, type ConnectionGater, type MultiaddrConnection, type PeerId, type PrivateKey, type Libp2p } from '@libp2p/interface'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { DEFAULT_P2P_PORT, MAX_GOSSIP_BYTES, MDNS_SERVICE_TAG } from './constants.js'

export type HostServices = {
  pubsub: GossipSub
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
}

export type Host = Libp2p<HostServices>

export interface HostInit {
  privateKey: PrivateKey
  /** multiaddrs to listen on; default: every interface, IPv4 and IPv6, on DEFAULT_P2P_PORT */
  listen?: string[]
  /** the team's pre-shared network key (see network-key.ts); without it, any node may connect */
  networkKey?: Uint8Array
  /** discover peers on the segment with mDNS (default true) */
  mdns?: boolean
  /** mDNS query interval in ms (default 10 s) */
  mdnsInterval?: number
  /** for tests: deny connections (partitions) */
  connectionGater?: ConnectionGater
  /**
   * called when an outbound TCP connection is made, before it is secured: a dial that gets
   * this far and then fails met a node with another network key
   */
  onOutboundTransport?: (peerId: string) => void
  /**
   * for benchmarks: let gossipsub sign every message (StrictSign), to measure what the
   * application-level design saves; the node itself never does
   */
  signMessages?: boolean
  /** for tests and benchmarks: extra transports (e.g. in-memory) */
  transports?: Libp2pOptions['transports']
}

export const DEFAULT_LISTEN = [`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`, `/ip6/::/tcp/${DEFAULT_P2P_PORT}`]

/**
 * The libp2p host: TCP, Noise, yamux, identify, ping, gossipsub and (optionally) mDNS.
 * gossipsub message signing is off: authorship is checked at the application level, once,
 * on gossip and on sync alike (see DESIGN.md), which saves 2-4x of gossip throughput.
 */
export async function createHost (init: HostInit): Promise<Host> {
  const listen = init.listen ?? DEFAULT_LISTEN
  return await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen },
    transports: init.transports ?? [tcp()],
    connectionEncrypters: [noise()],
    ...(init.networkKey != null ? { connectionProtector: preSharedKey({ psk: init.networkKey }) } : {}),
    streamMuxers: [yamux()],
    peerDiscovery: init.mdns === false ? [] : [mdns({ serviceTag: MDNS_SERVICE_TAG, interval: init.mdnsInterval ?? 10_000 })],
    // LAN and loopback addresses are the whole point here; the default gater allows them.
    connectionGater: observeOutbound(init.connectionGater ?? {}, init.onOutboundTransport),
    transportManager: {
      // A machine without IPv6 (or a namespace without it) still runs on IPv4.
      faultTolerance: FaultTolerance.NO_FATAL
    },
    connectionManager: {
      // A whole team may start at once behind one address (tests, NAT); the default of 5
      // inbound connections per second per address is too low for that.
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 100,
      dialTimeout: 5_000
    },
    connectionMonitor: {
      // Notice a dead link within seconds so that redial and sync start promptly.
      pingInterval: 3_000,
      abortConnectionOnPingFailure: true
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: init.signMessages === true ? 'StrictSign' : 'StrictNoSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        maxInboundDataLength: MAX_GOSSIP_BYTES * 4
      })
    }
  }) as unknown as Host
}

/**
 * The gater, with a hook on denyOutboundConnection: libp2p calls it once TCP is connected
 * and before the connection is protected and encrypted. The gater's own methods keep their
 * `this` (a class-based gater works).
 */
function observeOutbound (gater: ConnectionGater, onOutbound?: (peerId: string) => void): ConnectionGater {
  if (onOutbound == null) return gater
  return new Proxy(gater, {
    get (target, prop, receiver) {
      if (prop === 'denyOutboundConnection') {
        return async (peer: PeerId, maConn: MultiaddrConnection) => {
          onOutbound(peer.toString())
          return await target.denyOutboundConnection?.(peer, maConn) ?? false
        }
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}
