import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { newGroupId } from '../../crdt/index.js'
import { MalformedFrameError } from '../../node/index.js'
import { holdingsOf, holdsMore, OutstandingAsks, type Holdings } from '../../node/sync-asks.js'

const holds = (entries: Array<[number, number]>): Holdings => new Map(entries)
/** Whether `promise` has settled after the tasks queued so far have run. */
async function settled (promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(() => { done = true }, () => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  return done
}

describe('sync: one request per gap (sync-asks)', () => {
  const never = new AbortController().signal
  const farOff = (): number => Date.now() + 60_000

  it('reads a state vector, and refuses one that is not', () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('k', 1)
    assert.deepEqual(holdingsOf(Y.encodeStateVector(doc)), holds([[doc.clientID, 1]]))
    assert.throws(() => holdingsOf(Uint8Array.of(5, 0xff)), (e: Error) => e.name === MalformedFrameError.NAME)
  })

  it('says whether a peer holds changes that we lack and that no answer on its way brings', () => {
    const ours = holds([[1, 10], [2, 5]])
    assert.equal(holdsMore(holds([[1, 10]]), ours), false)
    assert.equal(holdsMore(holds([[1, 12]]), ours), true)
    assert.equal(holdsMore(holds([[3, 1]]), ours), true)
    assert.equal(holdsMore(holds([[1, 12], [2, 5]]), ours, holds([[1, 12]])), false)
    assert.equal(holdsMore(holds([[1, 12], [3, 1]]), ours, holds([[1, 20]])), true)
  })

  it('a request to a peer whose news the request out brings waits for its answer, then goes', async () => {
    const asks = new OutstandingAsks()
    const groupId = newGroupId()
    const first = asks.ask(groupId)
    first.heard(holds([[1, 20]]))
    assert.equal(asks.worthWaitingFor(groupId), true)
    let ours = holds([[1, 10]])
    const second = asks.askAfterOthers(groupId, holds([[1, 20]]), () => ours, farOff(), never)
    assert.equal(await settled(second), false, 'went before the first answer came')
    ours = holds([[1, 20]])
    first.answered()
    // What the first answer brought was all this peer had: nothing left to track.
    await second
    assert.equal(asks.worthWaitingFor(groupId), false)
  })

  it('goes at once to a peer holding something the request out will not bring, or nothing we lack', async () => {
    const asks = new OutstandingAsks()
    const groupId = newGroupId()
    const first = asks.ask(groupId)
    first.heard(holds([[1, 20]]))
    const ours = (): Holdings => holds([[1, 10]])
    assert.equal(await settled(asks.askAfterOthers(groupId, holds([[1, 20], [2, 3]]), ours, farOff(), never)), true)
    assert.equal(await settled(asks.askAfterOthers(groupId, holds([[1, 4]]), ours, farOff(), never)), true)
  })

  it('does not wait long for a request whose peer has not answered HELLO, nor past the deadline', async () => {
    const asks = new OutstandingAsks()
    const groupId = newGroupId()
    asks.ask(groupId) // never heard, never answered: a connection that died unnoticed
    const ours = (): Holdings => holds([])
    await asks.askAfterOthers(groupId, holds([[1, 1]]), ours, farOff(), never)
    const heard = asks.ask(groupId)
    heard.heard(holds([[1, 5]]))
    await asks.askAfterOthers(groupId, holds([[1, 1]]), ours, Date.now() + 50, never)
  })
})
