import { randomBytes } from 'node:crypto'

declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A group's random id: 32 lowercase hex characters. */
export type GroupId = Brand<string, 'GroupId'>
/** A message's random id: 24 lowercase hex characters. */
export type MessageId = Brand<string, 'MessageId'>

const GROUP_ID = /^[0-9a-f]{32}$/
const MESSAGE_ID = /^[0-9a-f]{24}$/

/**
 * Random bytes for ids, drawn from a pool refilled 4 KiB at a time: one `randomBytes` call
 * per message id showed up at 6% of the send path.
 */
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let poolAt = 0

export function randomHex (bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolAt = 0
  }
  poolAt += bytes
  return pool.toString('hex', poolAt - bytes, poolAt)
}

export function newGroupId (): GroupId {
  return randomBytes(16).toString('hex') as GroupId
}

export function newMessageId (): MessageId {
  return randomBytes(12).toString('hex') as MessageId
}

export function isGroupId (value: unknown): value is GroupId {
  return typeof value === 'string' && GROUP_ID.test(value)
}

export function isMessageId (value: unknown): value is MessageId {
  return typeof value === 'string' && MESSAGE_ID.test(value)
}
