/** Per-IP limits group IPv6 peers by /64 (one host usually holds a whole /64) and IPv4 peers by address. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { ipGroup } from '../../src/protocol/address-book.js'

describe('ipGroup', () => {
  it('is the IPv4 address, or the IPv6 /64 whatever the notation', () => {
    assert.equal(ipGroup(multiaddr('/ip4/203.0.113.7/tcp/1')), '203.0.113.7')
    assert.equal(ipGroup(multiaddr('/ip6/2001:db8:1:2:3:4:5:6/tcp/1')), '2001:db8:1:2::/64')
    assert.equal(ipGroup(multiaddr('/ip6/2001:db8:1:2::99/tcp/1')), '2001:db8:1:2::/64')
    assert.equal(ipGroup(multiaddr('/ip6/2001:0db8:0001:0002:ffff::1/tcp/1')), '2001:db8:1:2::/64')
    assert.equal(ipGroup(multiaddr('/ip6/2001:db8::1/tcp/1')), '2001:db8:0:0::/64')
    assert.equal(ipGroup(multiaddr('/ip6/::1/tcp/1')), '0:0:0:0::/64')
    assert.notEqual(ipGroup(multiaddr('/ip6/2001:db8:1:3::1/tcp/1')), ipGroup(multiaddr('/ip6/2001:db8:1:2::1/tcp/1')))
  })
})
