import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { IDONTWANT_MIN_BYTES } from '../../node/constants.js'
import { createHost, type Host } from '../../node/host.js'
import { waitFor } from '../helpers/nodes.js'

const TOPIC = 'outpost-test/idontwant'

/** What gossipsub recorded of the IDONTWANTs its peers sent it (an internal, checked to exist). */
function idontwantsReceived (h: Host): number {
  const received = (h.services.pubsub as unknown as { idontwants?: Map<string, Map<string, number>> }).idontwants
  assert.ok(received instanceof Map, 'gossipsub keeps received IDONTWANTs in `idontwants` (an internal this test reads)')
  let count = 0
  for (const ids of received.values()) count += ids.size
  return count
}

describe('gossipsub as the node configures it', function () {
  this.timeout(30_000)
  let hosts: Host[] = []

  before(async () => {
    hosts = await Promise.all(Array.from({ length: 3 }, async () => {
      const h = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
      await h.start()
      h.services.pubsub.subscribe(TOPIC)
      return h
    }))
    const [a, b, c] = hosts
    await Promise.all([a.dial(b.getMultiaddrs()[0]), a.dial(c.getMultiaddrs()[0]), b.dial(c.getMultiaddrs()[0])])
    const meshPeers = (h: Host): string[] => (h.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(TOPIC)
    await waitFor('a full mesh of three', () => hosts.every(h => meshPeers(h).length === 2))
  })
  after(async () => { await Promise.all(hosts.map(async h => { await h.stop() })) })

  async function publishAndWait (bytes: number): Promise<void> {
    const [a, b, c] = hosts
    const data = new Uint8Array(bytes).fill(bytes % 251)
    const arrived = Promise.all([b, c].map(async h => await new Promise<void>(resolve => {
      const onMessage = (evt: CustomEvent<{ data: Uint8Array }>): void => {
        if (evt.detail.data.length !== bytes) return
        h.services.pubsub.removeEventListener('message', onMessage as any)
        resolve()
      }
      h.services.pubsub.addEventListener('message', onMessage as any)
    })))
    await a.services.pubsub.publish(TOPIC, data)
    await arrived
    // What the receivers sent each other in reaction has had time to arrive.
    await new Promise(resolve => setTimeout(resolve, 300))
  }

  it('sends no IDONTWANT for a chat-sized message, and does for a large one', async () => {
    await publishAndWait(1024)
    assert.equal(hosts.reduce((n, h) => n + idontwantsReceived(h), 0), 0, 'no IDONTWANT for 1 KiB')
    await publishAndWait(IDONTWANT_MIN_BYTES + 1024)
    // The first receiver tells the other it has the message: that one records it.
    assert.ok(hosts.reduce((n, h) => n + idontwantsReceived(h), 0) >= 1, 'an IDONTWANT for a large message')
  })
})
