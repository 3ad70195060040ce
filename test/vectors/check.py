#!/usr/bin/env python3
"""Independent check of the known-answer vectors in test/vectors/*.json.

Recomputes every deterministic value from the formats as documented (src/keys/*.ts headers,
docs/keys.md) with Python's hashlib/hmac and pyca/cryptography, sharing no code with warren:
CHK keys, blocks and URIs; the SSK public key (RFC 8032), name hashes, routing keys, URIs and
the stored signed block (signature, binding, decryption); KSK derivation; and for split files
the data blocks, the file's SHA-256 inside the manifest and the root block (Reed-Solomon check
blocks are not recomputed). Not run by the suite: run it after make.ts.
Usage: python3 test/vectors/check.py   (needs the `cryptography` package)
"""
import hashlib
import json
import struct
import sys
import unicodedata
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).parent
BLOCK_SIZE = 32 * 1024
CHK_ENVELOPE = BLOCK_SIZE - 16
CHK_MAX_PAYLOAD = CHK_ENVELOPE - 5
B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
checked = 0


def b58(data: bytes) -> str:
    n = int.from_bytes(data, 'big')
    out = ''
    while n > 0:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return '1' * (len(data) - len(data.lstrip(b'\0'))) + out


def same(what, got, want):
    global checked
    if got != want:
        sys.exit(f'MISMATCH {what}:\n  computed {got}\n  vector   {want}')
    checked += 1


def sha256(*parts: bytes) -> bytes:
    return hashlib.sha256(b''.join(parts)).digest()


def hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def payload_of(spec) -> bytes:
    if 'hex' in spec:
        return bytes.fromhex(spec['hex'])
    return bytes(i % 251 for i in range(spec['pattern']))


def chk(type_: int, payload: bytes):
    key = sha256(b'warren-chk-v1', bytes([type_]), payload)
    envelope = bytes([type_]) + struct.pack('>I', len(payload)) + payload
    envelope += bytes(CHK_ENVELOPE - len(envelope))
    block = ChaCha20Poly1305(key).encrypt(bytes(12), envelope, None)
    assert len(block) == BLOCK_SIZE
    return key, sha256(block), f'warren:CHK@{b58(sha256(block))},{b58(key)}'


def public_key(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ssk_doc(pub_hash: bytes, crypto_key: bytes, name: str):
    name_hash = hkdf(crypto_key, b'warren-ssk-v1', b'name\0' + name.encode())
    return name_hash, sha256(b'warren-ssk-key-v1', pub_hash, name_hash)


def proto_fields(buf: bytes) -> dict:
    """Minimal protobuf reader: varint (wire 0) and length-delimited (wire 2) fields."""
    out, i = {}, 0
    def varint():
        nonlocal i
        v, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            v |= (b & 0x7f) << shift; shift += 7
            if b < 0x80:
                return v
    while i < len(buf):
        tag = varint()
        if tag & 7 == 0:
            out[tag >> 3] = varint()
        else:
            n = varint(); out[tag >> 3] = buf[i:i + n]; i += n
    return out


# CHK
for c in json.loads((HERE / 'chk.json').read_text())['cases']:
    key, rk, uri = chk(c['type'], payload_of(c['payload']))
    same(f"chk {c['name']} decryptKey", key.hex(), c['expect']['decryptKey'])
    same(f"chk {c['name']} routingKey", rk.hex(), c['expect']['routingKey'])
    same(f"chk {c['name']} uri", uri, c['expect']['uri'])

# SSK
ssk = json.loads((HERE / 'ssk.json').read_text())
seed = bytes.fromhex(ssk['subspace']['privateKey'])
crypto_key = bytes.fromhex(ssk['subspace']['cryptoKey'])
pub = public_key(seed)
same('ssk publicKey (RFC 8032 7.1 TEST 1)', pub.hex(), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
same('ssk publicKey', pub.hex(), ssk['subspace']['expect']['publicKey'])
pub_hash = sha256(b'warren-ssk-pubkey-v1', pub)
same('ssk pubKeyHash', pub_hash.hex(), ssk['subspace']['expect']['pubKeyHash'])
for d in ssk['documents']:
    name_hash, rk = ssk_doc(pub_hash, crypto_key, d['name'])
    same(f"ssk {d['name']!r} nameHash", name_hash.hex(), d['nameHash'])
    same(f"ssk {d['name']!r} routingKey", rk.hex(), d['routingKey'])
    same(f"ssk {d['name']!r} uri", d['requestUri'], f"warren:SSK@{b58(pub_hash)},{b58(crypto_key)}/{d['name']}")
sb = ssk['signedBlock']
blk = {k: bytes.fromhex(v) for k, v in sb['block'].items()}
rk = bytes.fromhex(sb['routingKey'])
headers = proto_fields(blk['headers'])
same('ssk block headers version', headers[1], 1)
same('ssk block binding', sha256(b'warren-ssk-key-v1', sha256(b'warren-ssk-pubkey-v1', blk['pubkey']), headers[2]).hex(), sb['routingKey'])
same('ssk block nameHash', headers[2], ssk_doc(pub_hash, crypto_key, sb['name'])[0])
message = b'warren-ssk-sig-v1' + rk + struct.pack('>I', len(blk['headers'])) + blk['headers'] + blk['data']
Ed25519PublicKey.from_public_bytes(blk['pubkey']).verify(blk['signature'], message)  # raises if bad
flipped = bytearray(blk['signature']); flipped[0] ^= 1
try:
    Ed25519PublicKey.from_public_bytes(blk['pubkey']).verify(bytes(flipped), message)
    sys.exit('MISMATCH: a flipped signature bit still verifies')
except Exception:
    checked += 2
content_key = hkdf(crypto_key, b'warren-ssk-v1', b'content\0' + sb['name'].encode())
envelope = ChaCha20Poly1305(content_key).decrypt(headers[3], blk['data'], rk)
length = struct.unpack('>I', envelope[1:5])[0]
same('ssk block type', envelope[0], sb['type'])
same('ssk block payload', envelope[5:5 + length].decode(), sb['payload'])

# KSK
ksk = json.loads((HERE / 'ksk.json').read_text())
def ksk_keys(keyword: str):
    master = hashlib.scrypt(unicodedata.normalize('NFC', keyword).encode(), salt=b'warren-ksk-v1', n=1 << 14, r=8, p=1, dklen=32, maxmem=64 * 1024 * 1024)
    seed = hkdf(master, b'warren-ksk-v1', b'ed25519 seed')
    ck = hkdf(master, b'warren-ksk-v1', b'crypto key')
    pk = public_key(seed)
    ph = sha256(b'warren-ssk-pubkey-v1', pk)
    return {'privateKey': seed.hex(), 'publicKey': pk.hex(), 'pubKeyHash': ph.hex(), 'cryptoKey': ck.hex(), 'routingKey': ssk_doc(ph, ck, '')[1].hex()}
for c in ksk['cases']:
    same(f"ksk {c['keyword']!r}", ksk_keys(c['keyword']), {k: v for k, v in c.items() if k != 'keyword'})
for s in ksk['sameAs']:
    same(f"ksk {s['keyword']!r} = {s['as']!r}", ksk_keys(s['keyword']), ksk_keys(s['as']))

# Split files: data blocks, SHA-256 in the manifest, root block and URI.
for c in json.loads((HERE / 'splitfile.json').read_text())['cases']:
    data = payload_of(c['input'])
    e = c['expect']
    manifest = bytes.fromhex(e['manifest'])
    meta = proto_fields(manifest)
    same(f"split {c['name']} size", e['size'], len(data))
    if data.hex() not in manifest.hex():
        slices = [data[i:i + CHK_MAX_PAYLOAD] for i in range(0, len(data), CHK_MAX_PAYLOAD)]
        same(f"split {c['name']} data blocks", e['dataBlocks'], len(slices))
        for s in slices:
            key, rk, _ = chk(0, s)
            same(f"split {c['name']} data block present", rk.hex() in e['blocks'], True)
            same(f"split {c['name']} data ref in manifest", (rk + key).hex() in manifest.hex(), True)
    same(f"split {c['name']} sha256 in manifest", hashlib.sha256(data).digest().hex() in manifest.hex(), True)
    _, rk, uri = chk(2, manifest)
    same(f"split {c['name']} root uri", uri, e['uri'])
    same(f"split {c['name']} root block listed", rk.hex() in e['blocks'], True)

print(f'all {checked} independent checks agree with test/vectors/*.json')
