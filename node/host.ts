import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { logger } from '@libp2p/logger'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { yamux } from '@libp2p/yamux'
import { FaultTolerance, type ConnectionGater, type MultiaddrConnection, type PeerId, type PrivateKey, type Libp2p } from '@libp2p/interface'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { DEFAULT_P2P_PORT, IDONTWANT_MIN_BYTES, MAX_GOSSIP_BYTES, MDNS_INTERVAL_MS, MDNS_SERVICE_TAG } from './constants.js'
import { DenyList, floodGuard, refuseDenied, type FloodGuard, type FloodGuardInit } from './flood-guard.js'
import { linkMonitor, type LinkMonitor } from './link-monitor.js'
import { overriding } from './overriding.js'
import { coalescingTcp, deferWindowUpdates } from './wire/fewer-writes.js'

const log = logger('outpost:host')

export type HostServices = {
  pubsub: GossipSub
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  linkMonitor: LinkMonitor
  floodGuard: FloodGuard
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
  /** mDNS query interval in ms (default MDNS_INTERVAL_MS) */
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
  /** for tests: other flood-guard budgets (see constants.ts for the defaults) */
  floodGuard?: FloodGuardInit
  /**
   * called for every gossip message copy received, duplicates included (gossipsub drops
   * duplicates before validation): the lab and benchmarks count copies per message with it
   */
  onGossipCopy?: () => void
}

export const DEFAULT_LISTEN = [`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`, `/ip6/::/tcp/${DEFAULT_P2P_PORT}`]

type PeerScoreParams = GossipsubOpts['scoreParams']
type TopicScoreParams = NonNullable<PeerScoreParams['topics']>[string]

/**
 * gossipsub's score thresholds (its defaults, written out): below -10 a peer gets no gossip
 * from us, below -50 none of our publications, below -80 (graylisted) everything it sends
 * is dropped unread, and the flood guard disconnects it.
 */
export const GOSSIP_SCORE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

const GOSSIP_SCORE_PARAMS: PeerScoreParams = {
  // Group topics are scored as they are subscribed (scoreTopic).
  topics: {},
  topicScoreCap: 10,
  // Several honest nodes often share one address (a lab, NAT, every test on 127.0.0.1):
  // on a team's own LAN colocation says nothing about Sybils, so it costs nothing.
  IPColocationFactorWeight: 0,
  // Broken IHAVE promises and GRAFTs during backoff: tolerate a few (lossy links), then count.
  behaviourPenaltyWeight: -1,
  behaviourPenaltyThreshold: 6,
  behaviourPenaltyDecay: 0.9,
  decayInterval: 1_000,
  decayToZero: 0.1,
  // A peer cannot shed a bad score by reconnecting within the hour.
  retainScore: 3_600_000
}

/**
 * A group topic's score. What counts is what a peer controls: each invalid envelope (our
 * validator's Reject) costs the square of their number, so ten of them graylist a peer
 * even with full credit, and a flood is remembered for about a minute (decay 0.9 a second).
 * Time in mesh and first deliveries give honest peers a little credit. Mesh delivery rates
 * (P3, P3b) are off: a chat group is quiet most of the time, and a peer must not lose
 * score for having nothing to relay.
 */
export const GROUP_TOPIC_SCORE_PARAMS: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 3_600,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 20,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.9
}

/**
 * Scores a group topic from now on. gossipsub reads topic score parameters from a table it
 * copies at creation; groups are created and joined later, so their topics are added to
 * the live table (checked, like gossip-repair.ts, in case its shape changes).
 */
export function scoreTopic (pubsub: GossipSub, topic: string): boolean {
  const topics = (pubsub as unknown as { score?: { params?: { topics?: Record<string, TopicScoreParams> } } }).score?.params?.topics
  if (topics == null || typeof topics !== 'object') {
    log.error('gossipsub internals unknown: topic %s is not scored', topic)
    return false
  }
  topics[topic] ??= { ...GROUP_TOPIC_SCORE_PARAMS }
  return true
}

/**
 * The libp2p host: TCP, Noise, yamux, identify, ping, gossipsub and (optionally) mDNS.
 * gossipsub message signing is off: authorship is checked at the application level, once,
 * on gossip and on sync alike (see DESIGN.md), which saves 2-4x of gossip throughput.
 */
export async function createHost (init: HostInit): Promise<Host> {
  deferWindowUpdates()
  const listen = init.listen ?? DEFAULT_LISTEN
  // The flood guard disconnects a flooder; the gater keeps it out for a while.
  const denyList = new DenyList()
  return await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen },
    transports: init.transports ?? [coalescingTcp()],
    connectionEncrypters: [noise()],
    ...(init.networkKey != null ? { connectionProtector: preSharedKey({ psk: init.networkKey }) } : {}),
    streamMuxers: [yamux()],
    peerDiscovery: init.mdns === false ? [] : [mdns({ serviceTag: MDNS_SERVICE_TAG, interval: init.mdnsInterval ?? MDNS_INTERVAL_MS })],
    // LAN and loopback addresses are the whole point here; the default gater allows them.
    connectionGater: refuseDenied(observeOutbound(init.connectionGater ?? {}, init.onOutboundTransport), denyList),
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
    // Dead links are noticed by the link monitor (a yamux ping, no stream): see link-monitor.ts.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      // After ping: it falls back on the ping service where a muxer cannot ping.
      linkMonitor: linkMonitor(),
      pubsub: gossipsub({
        globalSignaturePolicy: init.signMessages === true ? 'StrictSign' : 'StrictNoSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        // IDONTWANT (gossipsub 1.2) only for large messages (files' thumbnails, long texts),
        // whose duplicates cost a slow link real time. On a LAN every mesh peer forwards a chat
        // message within the same millisecond, so the IDONTWANT comes after the copy it was
        // to stop: in the 10-node fan-out (200-byte texts, six runs each) copies per message
        // were the same with it (6.3-7.4) and CPU per node 9.45% against 8.8% without.
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        maxInboundDataLength: MAX_GOSSIP_BYTES * 4,
        scoreParams: GOSSIP_SCORE_PARAMS,
        scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
        // The inbound transform runs on every copy before the duplicate check: the one
        // place a received copy can be counted through gossipsub's public options.
        ...(init.onGossipCopy != null
          ? { dataTransform: { inboundTransform: (_topic: string, data: Uint8Array) => { init.onGossipCopy?.(); return data }, outboundTransform: (_topic: string, data: Uint8Array) => data } }
          : {})
      }),
      // After pubsub: the guard watches gossipsub's scores.
      floodGuard: floodGuard({ denyList, graylistThreshold: GOSSIP_SCORE_THRESHOLDS.graylistThreshold, ...init.floodGuard })
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
  return overriding(gater, {
    denyOutboundConnection: async (peer: PeerId, maConn: MultiaddrConnection) => {
      onOutbound(peer.toString())
      return await gater.denyOutboundConnection?.(peer, maConn) ?? false
    }
  })
}
