/**
 * What the lab's driver needs from a set of running nodes, whether they are real processes
 * in network namespaces (cluster-netns.ts) or nodes in this process behind a connection
 * gater (cluster-in-process.ts). The driver talks to every node through its local API only.
 */
import type { NodeClient } from './node-client.js'

export interface NodeUsage {
  /** user + system CPU time since the node started */
  cpuSeconds: number
  rssBytes: number
}

export interface LabCluster {
  readonly mode: 'namespaces' | 'in-process'
  /** the bandwidth limit is applied by the node itself (POST /v1/lab/faults), not by tc */
  readonly limitsInNode: boolean
  start: (progress: (text: string) => void) => Promise<void>
  client: (node: string) => NodeClient
  partition: (sides: string[][]) => Promise<void>
  heal: () => Promise<void>
  /** as kill -9 does (in-process: the node stops at once, see cluster-in-process.ts) */
  kill: (node: string) => Promise<void>
  /** starts the node again on its data directory; resolves when its API answers */
  restart: (node: string) => Promise<void>
  pause: (node: string) => Promise<void>
  resume: (node: string) => Promise<void>
  limit: (node: string, bitsPerSecond: number | null) => Promise<void>
  /** null where a node's own usage cannot be told apart (in-process) */
  usage: (node: string) => Promise<NodeUsage | null>
  /** the last lines the node logged, for a failed run's report */
  logTail: (node: string) => string
  /** where each node's data and log are */
  dataDir: (node: string) => string
  stop: () => Promise<void>
}
