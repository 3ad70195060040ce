import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { networkProfile } from '../../src/routing/profiles.js'
import { createNode } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'

/**
 * The node runs the `network` routing profile, and nothing else: the simulator's figures for
 * `network` (docs/simulation.md) are figures of what a started node does.
 */
describe('a started node runs the network routing profile', () => {
  let node: WarrenNode
  let dir: string
  before(async () => { ({ node, dir } = await createNode()) })
  after(async () => {
    await node.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('routing core options', () => {
    assert.deepEqual({ ...node.service.core.options }, { ...networkProfile.core })
  })

  it('announcement options', () => {
    assert.deepEqual({ ...node.service.announceCore.options }, { ...networkProfile.announce })
  })

  it('announcement hops-to-live', () => {
    assert.equal(node.announcer.htl, networkProfile.announceHtl)
  })

  it('periodic rejoin toward the location', () => {
    assert.equal(node.announcer.rejoinIntervalMs, networkProfile.rejoin.intervalMs)
  })

  it('store specialisation share', () => {
    const policy = (node.store as unknown as { policy?: { keepFraction?: number } }).policy
    assert.ok(policy?.keepFraction !== undefined, 'the block store no longer exposes policy.keepFraction: update this test')
    assert.equal(policy.keepFraction, networkProfile.store.keepFraction)
  })
})
