import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { neighboursToDial } from '../../src/routing/neighbours.js'

describe('neighbour policy', () => {
  const bootstrap = [{ addr: 'A', peer: 'a' }, { addr: 'B', peer: 'b' }, { addr: 'X' }]

  it('dials nobody once the node has its minimum of connections', () => {
    assert.deepEqual(neighboursToDial({ connected: new Set(['p', 'q']), bootstrap, known: ['r'], min: 2 }), { short: false, bootstrap: [], peers: [] })
  })

  it('dials the unconnected bootstrap peers and up to min unconnected table peers, each once', () => {
    const dials = neighboursToDial({ connected: new Set(['a', 'p']), bootstrap, known: ['p', 'b', 'q', 'r', 's', 't'], min: 3 })
    // 'a' is connected; 'X' names no peer ID, so it cannot be known to be connected.
    assert.deepEqual(dials.bootstrap, ['B', 'X'])
    // 'p' is connected and 'b' is already dialled as a bootstrap peer; then table order, at most min.
    assert.deepEqual(dials.peers, ['q', 'r', 's'])
  })

  it('dials known peers alone when there is no bootstrap list', () => {
    assert.deepEqual(neighboursToDial({ connected: new Set(), bootstrap: [], known: new Set(['x', 'y']), min: 4 }), { short: true, bootstrap: [], peers: ['x', 'y'] })
  })
})
