/** A growing buffer that RowBinary is written into: one per sink, reused batch after batch. */
export class BinaryWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  varint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** `bits`/8 little-endian bytes of an integer already known to fit (two's complement when negative). */
  integer(value: bigint, bits: number): void {
    const bytes = bits / 8;
    this.ensure(bytes);
    const buf = this.buf;
    switch (bits) {
      case 8:
        buf[this.pos] = Number(value) & 0xff;
        break;
      case 16:
        buf.writeUInt16LE(Number(value) & 0xffff, this.pos);
        break;
      case 32:
        buf.writeUInt32LE(Number(value) >>> 0, this.pos);
        break;
      default: {
        let v = BigInt.asUintN(bits, value);
        for (let at = this.pos; at < this.pos + bytes; at += 8) {
          buf.writeBigUInt64LE(BigInt.asUintN(64, v), at);
          v >>= 64n;
        }
      }
    }
    this.pos += bytes;
  }

  /** An integer below 2^53 in magnitude, `bits`/8 little-endian bytes, without going through a bigint. */
  safeInteger(value: number, bits: number): void {
    if (bits > 64) {
      this.integer(BigInt(value), bits);
      return;
    }
    const bytes = bits / 8;
    this.ensure(bytes);
    const buf = this.buf;
    if (bits === 8) buf[this.pos] = value & 0xff;
    else if (bits === 16) buf.writeUInt16LE(value & 0xffff, this.pos);
    else if (bits === 32) buf.writeUInt32LE(value >>> 0, this.pos);
    else {
      const high = Math.floor(value / 4_294_967_296);
      buf.writeUInt32LE(value - high * 4_294_967_296, this.pos);
      buf.writeInt32LE(high, this.pos + 4);
    }
    this.pos += bytes;
  }

  float64(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  float32(value: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(value, this.pos);
    this.pos += 4;
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  /** A String: its UTF-8 length, then the bytes. */
  text(value: string): void {
    const length = Buffer.byteLength(value);
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }
}

/** Thrown when a RowBinary body ends inside a value: the server's answer was cut. */
export class TruncatedError extends Error {
  override readonly name = 'TruncatedError';
}

/** Reads RowBinary from one response body. */
export class BinaryReader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  #take(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw new TruncatedError(`the RowBinary answer ends inside a value (at byte ${at})`);
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.#take(1)]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  }

  integer(bits: number, signed: boolean): bigint {
    const buf = this.buf;
    switch (bits) {
      case 8: {
        const at = this.#take(1);
        return BigInt(signed ? buf.readInt8(at) : buf[at]!);
      }
      case 16: {
        const at = this.#take(2);
        return BigInt(signed ? buf.readInt16LE(at) : buf.readUInt16LE(at));
      }
      case 32: {
        const at = this.#take(4);
        return BigInt(signed ? buf.readInt32LE(at) : buf.readUInt32LE(at));
      }
      case 64: {
        const at = this.#take(8);
        return signed ? buf.readBigInt64LE(at) : buf.readBigUInt64LE(at);
      }
      default: {
        const bytes = bits / 8;
        const at = this.#take(bytes);
        let value = 0n;
        for (let i = bytes - 8; i >= 0; i -= 8) value = (value << 64n) | buf.readBigUInt64LE(at + i);
        return signed ? BigInt.asIntN(bits, value) : value;
      }
    }
  }

  /** A small integer as a JS number (Enum values, Date days, DateTime seconds). */
  smallInt(bytes: 1 | 2 | 4, signed: boolean): number {
    const at = this.#take(bytes);
    const buf = this.buf;
    if (bytes === 1) return signed ? buf.readInt8(at) : buf[at]!;
    if (bytes === 2) return signed ? buf.readInt16LE(at) : buf.readUInt16LE(at);
    return signed ? buf.readInt32LE(at) : buf.readUInt32LE(at);
  }

  float64(): number {
    return this.buf.readDoubleLE(this.#take(8));
  }

  float32(): number {
    return this.buf.readFloatLE(this.#take(4));
  }

  /** `n` bytes as a view into the body. */
  slice(n: number): Buffer {
    const at = this.#take(n);
    return this.buf.subarray(at, at + n);
  }
}
