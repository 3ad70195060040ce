/**
 * A short run of the fuzz campaign (bench/fuzz/fuzz.ts; the long runs are in docs/reliability.md):
 * a few seconds of structure-aware malformed input on every protocol handler (request, insert,
 * announce, join, the link protocol, the tunnel protocol) and the HTTP API
 * of real nodes in their own process. The target must not crash or leave a promise rejection
 * unhandled, every frame must be answered with a typed ERROR or a valid reply (or, after our
 * own ERROR or REJECTED_LOOP, the stream ended), and nothing may be left held afterwards.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TunnelFrame } from '../../proto/tunnel.js'
import { FrameType } from '../../proto/warren.js'
import { FUZZ_PROTOCOLS, runFuzz } from '../../bench/fuzz/fuzz.js'
import { TEST_SEED } from '../helpers/seed.js'

const TYPED = new Set<string>(Object.values(FrameType).filter((t): t is FrameType => typeof t === 'string' && t !== FrameType.ERROR && t !== FrameType.UNKNOWN))
const TUNNEL_TYPED = new Set<string>(Object.values(TunnelFrame.Type).filter((t) => typeof t === 'string'))

/** A classified answer of `p`'s (anything else, and every 'none: ...', is a finding). */
function typed (p: string, answer: string): boolean {
  if (p === 'api') return /^HTTP \d{3}$/.test(answer)
  if (p === 'tunnel') return TUNNEL_TYPED.has(answer) || /^ended \((closed|reset)\)$/.test(answer)
  if (/^ERROR [A-Z_]+$/.test(answer) || TYPED.has(answer) || /^ended after our (ERROR|REJECTED_LOOP)$/.test(answer)) return true
  // The link protocol: a channel reset, a frame the protocol drops, the link ended for a violation.
  return p === 'link' && (answer === 'RESET' || /^dropped \(.+\)$/.test(answer) || /^link ended (after our|by another case) /.test(answer))
}

describe('fuzz campaign (short run)', () => {
  it('answers every malformed frame and request, and the target survives', async (t) => {
    const report = await runFuzz({ seed: TEST_SEED, seconds: 2.5, protocols: FUZZ_PROTOCOLS, concurrency: 16, peers: 4 })
    t.diagnostic(JSON.stringify({ seed: report.seed, target: { ...report.target, rejections: undefined }, frames: Object.fromEntries(Object.entries(report.protocols).map(([p, r]) => [p, r.frames])) }))
    assert.equal(report.target.crashed, false, `the target exited: ${report.target.exit}`)
    assert.equal(report.target.unhandledRejections, 0, report.target.rejections.join('\n'))
    for (const p of FUZZ_PROTOCOLS) {
      const r = report.protocols[p]!
      assert.ok(r.frames > 0, `${p}: nothing sent`)
      assert.equal(r.unanswered, 0, `${p}: unanswered ${JSON.stringify(r.examples)}`)
      for (const answer of Object.keys(r.answers)) {
        assert.ok(typed(p, answer), `${p}: answer "${answer}" is neither a typed error nor a valid reply`)
      }
      // The gateway's 500 on a key with control characters (docs/reliability.md) is reported, not asserted here.
      if (r.serverErrors > 0) t.diagnostic(`${p}: ${r.serverErrors} HTTP 5xx: ${JSON.stringify(r.examples.filter((e) => e.answer.startsWith('HTTP 5')))}`)
    }
    assert.deepEqual(report.target.activeOperationsAfter, [0, 0, 0], 'operations left over')
    assert.deepEqual(report.target.slotsHeldAfter, [0, 0, 0], 'slots left held')
    assert.deepEqual(report.target.tunnelsActiveAfter, [0, 0, 0], 'tunnels left open')
  })
})
