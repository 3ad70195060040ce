/**
 * Frame padding (issue 13, item 4, "Done when"): every frame written on the wire by warren's
 * protocols during a mixed workload on real nodes (CHK puts and gets of a small and a
 * multi-segment file, an SSK and a KSK, the per-operation request protocol, a newcomer's
 * announcement and join, a get through a trusted peer) totals one of at most four sizes,
 * FRAME_SIZE_CLASSES. With padding off (framePadding.enabled = false) the same census finds
 * dozens of sizes: the test fails.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ANNOUNCE_PROTOCOL, JOIN_PROTOCOL, LINK_PROTOCOL, REQUEST_PROTOCOL } from '../../src/constants.js'
import { FRAME_SIZE_CLASSES } from '../../src/protocol/padding.js'
import { TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { census, MULTI_SEGMENT_BYTES, runMixedWorkload } from '../helpers/mixed-workload.js'
import type { Workload } from '../helpers/mixed-workload.js'

describe('frame sizes on the wire', () => {
  let w: Workload
  before(async () => { w = await runMixedWorkload() })
  after(async () => { await w?.stop() })

  it('every frame of every warren protocol has one of at most four sizes', (t) => {
    const c = census(w.taps)
    t.diagnostic(`${c.frames} frames, ${c.bytes} bytes; sizes ${JSON.stringify([...c.sizes].sort((a, b) => a[0] - b[0]))}; protocols ${JSON.stringify([...c.protocols])}`)
    // The census saw the whole workload: every protocol, and the multi-segment file's blocks.
    for (const p of [LINK_PROTOCOL, REQUEST_PROTOCOL, ANNOUNCE_PROTOCOL, JOIN_PROTOCOL, TUNNEL_PROTOCOL]) {
      assert.ok((c.protocols.get(p) ?? 0) > 0, `no frame recorded on ${p}`)
    }
    assert.ok(c.bytes > 2 * MULTI_SEGMENT_BYTES, `only ${c.bytes} bytes recorded`)
    assert.ok(c.sizes.size <= 4, `${c.sizes.size} distinct frame sizes: ${[...c.sizes.keys()].sort((a, b) => a - b).join(', ')}`)
    for (const size of c.sizes.keys()) assert.ok((FRAME_SIZE_CLASSES as readonly number[]).includes(size), `a ${size}-byte frame is no size class`)
  })
})
