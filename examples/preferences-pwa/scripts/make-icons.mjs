// Draws the app icons (PNG, no dependencies: pixels → zlib → PNG chunks) into public/icons.
// Run once after changing the design: `node scripts/make-icons.mjs`; the PNGs are committed.
// The design: two arrows chasing each other around a ring (sync), white on indigo, full bleed,
// so the same image works as a maskable icon (the artwork stays inside the 80% safe zone).
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons')

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(bytes) {
  let c = 0xffffffff
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x + 0.5, y + 0.5, size)
      raw.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4)
    }
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

const indigo = [79, 70, 229]
const violet = [124, 58, 237]
const white = [255, 255, 255]
const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t))

/** Coverage (0..1) of the artwork at (x, y), with 4×4 supersampling for smooth edges. */
function artwork(x, y, size) {
  let hits = 0
  for (let sy = 0; sy < 4; sy++) {
    for (let sx = 0; sx < 4; sx++) {
      const u = (x - 0.5 + (sx + 0.5) / 4) / size - 0.5
      const v = (y - 0.5 + (sy + 0.5) / 4) / size - 0.5
      if (inside(u, v)) hits++
    }
  }
  return hits / 16
}

function inside(u, v) {
  const r = Math.hypot(u, v)
  const angle = (Math.atan2(v, u) + 2 * Math.PI) % (2 * Math.PI)
  // Two arcs of the ring, each ending in an arrow head, with gaps between them.
  const ring = r > 0.2 && r < 0.28
  const inArc = (angle > 0.35 && angle < Math.PI - 0.2) || (angle > Math.PI + 0.35 && angle < 2 * Math.PI - 0.2)
  if (ring && inArc) return true
  for (const end of [Math.PI - 0.2, 2 * Math.PI - 0.2]) {
    // Arrow head: a triangle at the arc's end, pointing along the direction of travel.
    const cx = Math.cos(end) * 0.24
    const cy = Math.sin(end) * 0.24
    const tx = -Math.sin(end)
    const ty = Math.cos(end)
    const du = u - cx
    const dv = v - cy
    const along = du * tx + dv * ty
    const across = Math.abs(du * Math.cos(end) + dv * Math.sin(end))
    if (along >= -0.01 && along < 0.12 && across < 0.1 * (1 - along / 0.12)) return true
  }
  // A dot in the middle: the value being kept in sync.
  return r < 0.07
}

function pixel(x, y, size) {
  const background = mix(indigo, violet, (x + y) / (2 * size))
  const cover = artwork(x, y, size)
  return [...mix(background, white, cover), 255]
}

for (const size of [192, 512]) {
  writeFileSync(join(out, `icon-${size}.png`), png(size, pixel))
}
writeFileSync(join(out, 'apple-touch-icon.png'), png(180, pixel))
console.log(`icons written to ${out}`)
