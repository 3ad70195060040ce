import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as constants from '../../src/constants.js'
import { getProfile, improvedProfile, networkProfile, paperProfile, PROFILE_NAMES } from '../../src/routing/profiles.js'
import { SIM_CORE_OVERRIDES } from '../../src/sim/config.js'
import { Simulator } from '../../src/sim/network.js'

describe('routing profiles', () => {
  it('names network, paper and improved, and refuses others with the list of names', () => {
    assert.deepEqual(PROFILE_NAMES, ['network', 'paper', 'improved'])
    for (const name of PROFILE_NAMES) assert.equal(getProfile(name).name, name)
    assert.throws(() => getProfile('fast'), /unknown routing profile "fast": use one of network, paper, improved/)
    assert.throws(() => getProfile('toString'), /unknown routing profile/)
  })

  it('the node\'s routing constants are the network profile\'s numbers (one source)', () => {
    assert.equal(constants.MAX_HTL, networkProfile.core.maxHtl)
    assert.equal(constants.ROUTING_TABLE_SIZE, networkProfile.core.routingTableSize)
    assert.equal(constants.SOURCE_RESET_PROBABILITY, networkProfile.core.sourceResetProb)
    assert.equal(constants.HOP_TIMEOUT_MS, networkProfile.core.hopTimeoutMs)
    assert.equal(constants.ANNOUNCE_HTL, networkProfile.announceHtl)
    assert.equal(constants.ANNOUNCE_SHARE_WALK, networkProfile.announce.shareWalk)
    assert.equal(constants.ANNOUNCE_SHARE_NEAREST, networkProfile.announce.shareNearest)
    assert.equal(constants.ANNOUNCE_JOIN_HTL, networkProfile.announce.joinHtl)
    assert.equal(constants.STORE_KEEP_FRACTION, networkProfile.store.keepFraction)
  })

  it('improved is network plus exactly LRU refresh on forward and no source reset', () => {
    const diff = Object.entries(improvedProfile.core).filter(([k, v]) => networkProfile.core[k as keyof typeof networkProfile.core] !== v)
    assert.deepEqual(Object.fromEntries(diff), { refreshOnForward: true, sourceResetProb: 0 })
    assert.deepEqual(improvedProfile.announce, networkProfile.announce)
    assert.deepEqual(improvedProfile.store, networkProfile.store)
  })

  it('paper: free loops, backtracking inserts, loop detection over time, no announcement sharing, plain LRU stores', () => {
    assert.equal(paperProfile.core.loopCostsHop, false)
    assert.equal(paperProfile.core.insertBacktrack, true)
    assert.equal(paperProfile.core.perPathLoops, false)
    assert.equal(paperProfile.core.probabilisticHtl, false)
    assert.equal(paperProfile.announce.shareWalk, 'off')
    assert.equal(paperProfile.announce.joinHtl, 0)
    assert.equal(paperProfile.store.keepFraction, 0)
  })

  it('profiles are frozen: nobody changes what the node runs by accident', () => {
    assert.throws(() => { (networkProfile.core as { maxHtl: number }).maxHtl = 5 }, TypeError)
    assert.throws(() => { (networkProfile.store as { keepFraction: number }).keepFraction = 0 }, TypeError)
    assert.equal(networkProfile.core.maxHtl, 20)
  })

  it('the simulator runs a profile\'s options, changing only its driver overrides', () => {
    const sim = new Simulator({ seed: 1, profile: networkProfile })
    assert.deepEqual(sim.coreOptions, { ...networkProfile.core, ...SIM_CORE_OVERRIDES })
    assert.equal(sim.storeKeep, networkProfile.store.keepFraction)
    assert.equal(sim.announceOptions.shareWalk, networkProfile.announce.shareWalk)
    assert.equal(sim.announceOptions.joinHtl, networkProfile.announce.joinHtl)
    const i = sim.addNode(0.5)
    assert.equal(sim.core(i).options.loopCostsHop, false)
    assert.equal(sim.core(i).options.perPathLoops, true)
    assert.equal(sim.core(i).options.maxHtl, 500)
    // Single options still override the profile.
    assert.equal(new Simulator({ profile: networkProfile, core: { loopCostsHop: true } }).coreOptions.loopCostsHop, true)
  })
})
