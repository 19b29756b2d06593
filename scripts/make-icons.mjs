// Draws LLMeter's icons with nothing but Node (zlib for PNG's deflate) and writes them to build/:
// the tray icons per state (macOS template PNGs + @2x, Windows ICOs, Linux PNGs) and the app
// icon (icon.png 1024 px for macOS/Linux, icon.ico for Windows). The generated files are
// committed; run `node scripts/make-icons.mjs [--out DIR]` after changing a shape or colour.
//
// The glyph is a meter: a dial with a needle. The needle's angle and the fill tell the state, so
// the state reads in macOS's single-colour template images as well as in colour elsewhere.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';

export const TRAY_STATES = ['ok', 'warn', 'over', 'stale', 'error', 'empty'];

// ---- PNG and ICO encoding -------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** An RGBA image (`pixels`: width × height × 4 bytes) as a PNG file. */
export function encodePng(width, height, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0; // filter: none
    pixels.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** PNG images (each `{size, png}`) as one ICO file; Windows Vista and later read PNG entries. */
export function encodeIco(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  const entries = [];
  let offset = 6 + 16 * images.length;
  for (const { size, png } of images) {
    const entry = Buffer.alloc(16);
    entry[0] = size >= 256 ? 0 : size;
    entry[1] = size >= 256 ? 0 : size;
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(png.length, 8);
    entry.writeUInt32LE(offset, 12);
    entries.push(entry);
    offset += png.length;
  }
  return Buffer.concat([header, ...entries, ...images.map((image) => image.png)]);
}

// ---- Drawing ----------------------------------------------------------------------------------
// Shapes are predicates over a 32 × 32 design grid; each pixel is supersampled for anti-aliasing.

const disc = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, r, width) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) <= width / 2;
const segment = (x1, y1, x2, y2, width) => (x, y) => {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) <= width / 2;
};
const union = (...shapes) => (x, y) => shapes.some((shape) => shape(x, y));
const minus = (shape, hole) => (x, y) => shape(x, y) && !hole(x, y);
/** A ring cut into `dashes` dashes: the dial of stale data. */
const dashedRing = (cx, cy, r, width, dashes) => (x, y) => {
  if (!ring(cx, cy, r, width)(x, y)) return false;
  const turn = (Math.atan2(y - cy, x - cx) / (2 * Math.PI) + 1) % 1;
  return (turn * dashes) % 1 < 0.6;
};

const C = 16; // centre of the dial
/** The needle, pointing `degrees` from the right, counter-clockwise (screen y grows downwards). */
const needle = (degrees, width = 3.2) => {
  const radians = (degrees * Math.PI) / 180;
  return union(segment(C, C, C + 8.5 * Math.cos(radians), C - 8.5 * Math.sin(radians), width), disc(C, C, 3));
};
const exclamation = union(segment(C, 8.5, C, 17, 3.4), disc(C, 22.5, 2));
// Low needle for ok, high for warn, past the top for over.
const NEEDLE = { ok: 150, warn: 60, over: 20, stale: 120, empty: 150 };

/** Single-colour glyphs for macOS template images: black where the shape is, clear elsewhere. */
const TEMPLATE = {
  ok: union(ring(C, C, 12.5, 3), needle(NEEDLE.ok)),
  warn: union(ring(C, C, 12.5, 3), needle(NEEDLE.warn), disc(27, 5, 4)),
  over: minus(disc(C, C, 14), needle(NEEDLE.over, 3.6)),
  stale: union(dashedRing(C, C, 12.5, 3, 8), needle(NEEDLE.stale)),
  error: union(ring(C, C, 12.5, 3), exclamation),
  empty: ring(C, C, 12.5, 3),
};

const COLOUR = { ok: [46, 157, 91], warn: [224, 151, 0], over: [214, 61, 57], stale: [128, 134, 145], error: [214, 61, 57], empty: [128, 134, 145] };
const WHITE = [255, 255, 255];

/** Colour layers for Windows and Linux trays: a filled dial in the state's colour, a white needle. */
function colourLayers(state) {
  const colour = COLOUR[state];
  if (state === 'empty') return [{ colour, shape: union(ring(C, C, 12.5, 3), needle(NEEDLE.empty)) }];
  if (state === 'error') return [{ colour, shape: disc(C, C, 15) }, { colour: WHITE, shape: exclamation }];
  if (state === 'stale') return [{ colour, shape: dashedRing(C, C, 12.5, 5, 8) }, { colour, shape: needle(NEEDLE.stale) }];
  return [{ colour, shape: disc(C, C, 15) }, { colour: WHITE, shape: needle(NEEDLE[state]) }];
}

/** Paints layers (back to front) into a `size` px RGBA image, the 32-unit design grid scaled to fit. */
function render(size, layers, { grid = 32, samples = 4 } = {}) {
  const pixels = Buffer.alloc(size * size * 4);
  const unit = grid / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const { colour, shape } of layers) {
        let hits = 0;
        for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) {
            if (shape((px + (sx + 0.5) / samples) * unit, (py + (sy + 0.5) / samples) * unit)) hits++;
          }
        }
        const coverage = hits / (samples * samples);
        if (coverage === 0) continue;
        // "Over" compositing in straight alpha.
        const outA = coverage + a * (1 - coverage);
        r = (colour[0] * coverage + r * a * (1 - coverage)) / outA;
        g = (colour[1] * coverage + g * a * (1 - coverage)) / outA;
        b = (colour[2] * coverage + b * a * (1 - coverage)) / outA;
        a = outA;
      }
      const i = (py * size + px) * 4;
      pixels[i] = Math.round(r);
      pixels[i + 1] = Math.round(g);
      pixels[i + 2] = Math.round(b);
      pixels[i + 3] = Math.round(a * 255);
    }
  }
  return encodePng(size, size, pixels);
}

/** The app icon: the ok dial, white on a dark rounded square. */
function appIconLayers() {
  const radius = 7;
  const roundedSquare = (x, y) => {
    const dx = Math.max(radius + 1 - x, 0, x - (31 - radius));
    const dy = Math.max(radius + 1 - y, 0, y - (31 - radius));
    return x >= 1 && x <= 31 && y >= 1 && y <= 31 && dx * dx + dy * dy <= radius * radius;
  };
  return [
    { colour: [22, 33, 58], shape: roundedSquare },
    { colour: WHITE, shape: ring(C, C, 10, 2.4) },
    { colour: [76, 195, 138], shape: needle(NEEDLE.warn, 2.6) },
  ];
}

/** Every icon file, by path relative to build/. */
export function iconFiles() {
  const files = new Map();
  for (const state of TRAY_STATES) {
    const template = [{ colour: [0, 0, 0], shape: TEMPLATE[state] }];
    files.set(`tray/tray-${state}Template.png`, render(16, template));
    files.set(`tray/tray-${state}Template@2x.png`, render(32, template));
    const colour = colourLayers(state);
    files.set(`tray/tray-${state}.png`, render(32, colour));
    files.set(`tray/tray-${state}.ico`, encodeIco([16, 20, 24, 32, 48].map((size) => ({ size, png: render(size, colour) }))));
  }
  files.set('icon.png', render(1024, appIconLayers(), { samples: 2 }));
  files.set('icon.ico', encodeIco([16, 24, 32, 48, 64, 128, 256].map((size) => ({ size, png: render(size, appIconLayers()) }))));
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex > 0 ? process.argv[outIndex + 1] : 'build';
  const files = iconFiles();
  for (const [file, bytes] of files) {
    mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
    writeFileSync(path.join(out, file), bytes);
  }
  console.log(`Wrote ${files.size} icon files to ${out}/`);
}
