/**
 * A minimal, strict protobuf codec for chiffre's few message and record types. It knows wire
 * types, not schemas: the reader returns the fields it found, the writer emits fields in the order
 * it is called (callers call in tag order, as prost does).
 *
 * Hostile-input rules: varints are at most 10 bytes (u32 fields at most 5 and < 2^32), lengths
 * never run past the buffer, groups (wire types 3/4) and field number 0 are refused, and the
 * number of fields is bounded by the input length. Every failure is reported through the
 * caller's `fail` callback so each format throws its own typed error.
 *
 * @module
 */

/** Wire types chiffre reads (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
export type WireType = 0 | 1 | 2 | 5;

/** One decoded field. */
export type ProtobufField =
  /** Varint values below 2^28 are numbers (the common case); larger ones are bigints. */
  | { readonly field: number; readonly wireType: 0; readonly value: number | bigint }
  | { readonly field: number; readonly wireType: 1 | 5 | 2; readonly value: Uint8Array };

/** Called with a short secret-free reason; must throw. */
export type FailFn = (reason: string) => never;

/** Parse all fields of `bytes`. Unknown fields are kept (the caller skips them). */
export function readProtobuf(bytes: Uint8Array, fail: FailFn): ProtobufField[] {
  const fields: ProtobufField[] = [];
  let pos = 0;
  const readVarint = (): number | bigint => {
    // Fast path: up to 4 bytes (28 bits) in plain numbers; longer varints use bigint.
    let small = 0;
    for (let i = 0; i < 4; i++) {
      if (pos >= bytes.length) fail('truncated varint');
      const b = bytes[pos++] as number;
      small |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return small;
    }
    let result = BigInt(small);
    let shift = 28n;
    for (let i = 4; i < 10; i++) {
      if (pos >= bytes.length) fail('truncated varint');
      const b = bytes[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) fail('varint overflow');
        return result;
      }
      shift += 7n;
    }
    return fail('varint too long');
  };
  while (pos < bytes.length) {
    const key = readVarint();
    let field: number;
    let wireType: number;
    if (typeof key === 'number') {
      field = key >>> 3;
      wireType = key & 7;
    } else {
      if (key >> 3n > 0x1fff_ffffn) fail('invalid field number');
      field = Number(key >> 3n);
      wireType = Number(key & 7n);
    }
    if (field === 0) fail('invalid field number');
    switch (wireType) {
      case 0:
        fields.push({ field, wireType: 0, value: readVarint() });
        break;
      case 1:
      case 5: {
        const n = wireType === 1 ? 8 : 4;
        if (pos + n > bytes.length) fail('truncated fixed field');
        fields.push({ field, wireType, value: bytes.subarray(pos, pos + n) });
        pos += n;
        break;
      }
      case 2: {
        const len = readVarint();
        if (typeof len !== 'number' || len > bytes.length - pos) fail('length past end of input');
        const n = len;
        fields.push({ field, wireType: 2, value: bytes.subarray(pos, pos + n) });
        pos += n;
        break;
      }
      default:
        fail('unsupported wire type');
    }
  }
  return fields;
}

/**
 * Typed access to the fields of one message: each getter enforces the wire type, refuses
 * repeated scalar fields, and reports through `fail`.
 */
export class ProtobufMessage {
  readonly #fields: readonly ProtobufField[];
  readonly #fail: FailFn;

  constructor(bytes: Uint8Array, fail: FailFn) {
    this.#fields = readProtobuf(bytes, fail);
    this.#fail = fail;
  }

  #single(field: number): ProtobufField | undefined {
    let found: ProtobufField | undefined;
    for (const f of this.#fields) {
      if (f.field !== field) continue;
      if (found !== undefined) this.#fail(`field ${String(field)} repeated`);
      found = f;
    }
    return found;
  }

  /** An optional uint32 field. */
  uint32(field: number): number | undefined {
    const f = this.#single(field);
    if (f === undefined) return undefined;
    if (f.wireType !== 0) return this.#fail(`field ${String(field)} has the wrong wire type`);
    if (typeof f.value === 'number') return f.value;
    if (f.value > 0xffff_ffffn) return this.#fail(`field ${String(field)} out of range`);
    return Number(f.value);
  }

  /** An optional uint64 field, as a bigint. */
  uint64(field: number): bigint | undefined {
    const f = this.#single(field);
    if (f === undefined) return undefined;
    if (f.wireType !== 0) return this.#fail(`field ${String(field)} has the wrong wire type`);
    return BigInt(f.value);
  }

  /** An optional bool field. */
  bool(field: number): boolean | undefined {
    const v = this.uint64(field);
    if (v === undefined) return undefined;
    if (v > 1n) return this.#fail(`field ${String(field)} is not a bool`);
    return v === 1n;
  }

  /** An optional bytes (or embedded message) field. The result is a view into the input. */
  bytes(field: number): Uint8Array | undefined {
    const f = this.#single(field);
    if (f === undefined) return undefined;
    if (f.wireType !== 2) return this.#fail(`field ${String(field)} has the wrong wire type`);
    return f.value;
  }

  /** All occurrences of a repeated bytes field, in order. */
  repeatedBytes(field: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const f of this.#fields) {
      if (f.field !== field) continue;
      if (f.wireType !== 2) return this.#fail(`field ${String(field)} has the wrong wire type`);
      out.push(f.value);
    }
    return out;
  }

  /** A required uint32 field. */
  requiredUint32(field: number): number {
    const v = this.uint32(field);
    return v === undefined ? this.#fail(`missing field ${String(field)}`) : v;
  }

  /** A required bytes field, optionally of an exact length. */
  requiredBytes(field: number, length?: number): Uint8Array {
    const v = this.bytes(field);
    if (v === undefined) return this.#fail(`missing field ${String(field)}`);
    if (length !== undefined && v.length !== length) {
      return this.#fail(`field ${String(field)} has the wrong length`);
    }
    return v;
  }
}

/**
 * Appends fields; call in ascending tag order for byte-identical output with prost.
 *
 * Keys, varints and short byte fields are written into a small scratch buffer; longer byte fields
 * and nested writers are kept by reference and copied once, into the buffer `finish` returns. So a
 * record of nested messages is assembled without intermediate copies. Byte arrays passed in must
 * therefore stay unchanged until `finish` (every encoder here finishes before returning).
 */
export class ProtobufWriter {
  // Finished pieces, in order: piece i is `#bufs[i][#starts[i] .. #ends[i]]`, a stretch of a
  // scratch buffer or a whole referenced byte field. Offsets rather than subarray views: creating
  // a typed-array view per piece cost more than the copying.
  readonly #bufs: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #scratch: Uint8Array;
  /** Start of the scratch bytes not yet in the pieces. */
  #start = 0;
  #pos = 0;
  #length = 0;

  /**
   * @param capacity - size of the first scratch buffer for keys, varints and short fields (it
   *   grows as needed); the default 64 keeps it among the small arrays V8 allocates on its heap
   */
  constructor(capacity = 64) {
    this.#scratch = new Uint8Array(Math.max(16, capacity));
  }

  #piece(buf: Uint8Array, start: number, end: number): void {
    this.#bufs.push(buf);
    this.#starts.push(start);
    this.#ends.push(end);
  }

  /** Move the pending scratch bytes into the pieces. */
  #flush(): void {
    if (this.#pos > this.#start) {
      this.#piece(this.#scratch, this.#start, this.#pos);
      this.#start = this.#pos;
    }
  }

  /** Make room for `n` more scratch bytes (a new scratch; the old one stays referenced). */
  #reserve(n: number): void {
    if (this.#pos + n <= this.#scratch.length) return;
    this.#flush();
    this.#scratch = new Uint8Array(Math.max(n, this.#scratch.length * 2));
    this.#start = 0;
    this.#pos = 0;
  }

  #varint(value: bigint | number): void {
    this.#reserve(10);
    const buf = this.#scratch;
    let pos = this.#pos;
    if (typeof value === 'number' && value < 0x8000_0000) {
      // Fast path for u31 values (keys, lengths, counters).
      let v = value;
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      let v = BigInt(value);
      do {
        let b = Number(v & 0x7fn);
        v >>= 7n;
        if (v !== 0n) b |= 0x80;
        buf[pos++] = b;
      } while (v !== 0n);
    }
    this.#length += pos - this.#pos;
    this.#pos = pos;
  }

  #key(field: number, wireType: WireType): void {
    this.#varint(field * 8 + wireType);
  }

  #append(value: Uint8Array): void {
    if (value.length <= 32) {
      this.#reserve(value.length);
      this.#scratch.set(value, this.#pos);
      this.#pos += value.length;
    } else {
      this.#flush();
      this.#piece(value, 0, value.length);
    }
    this.#length += value.length;
  }

  /** Raw bytes with no field key (e.g. the version byte in front of a Signal message). */
  raw(value: Uint8Array): this {
    this.#append(value);
    return this;
  }

  /** A uint32 field (varint). */
  uint32(field: number, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new RangeError(`field ${String(field)} must be a u32`);
    }
    this.#key(field, 0);
    this.#varint(value);
    return this;
  }

  /** A uint64 field (varint). */
  uint64(field: number, value: bigint): this {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`field ${String(field)} must be a u64`);
    }
    this.#key(field, 0);
    this.#varint(value);
    return this;
  }

  /** A bool field (varint 0 or 1). */
  bool(field: number, value: boolean): this {
    this.#key(field, 0);
    this.#varint(value ? 1 : 0);
    return this;
  }

  /** A length-delimited bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.#key(field, 2);
    this.#varint(value.length);
    this.#append(value);
    return this;
  }

  /**
   * A length-delimited field holding what `nested` wrote (a sub-message). `nested` is taken over
   * by reference: do not write to it afterwards.
   */
  message(field: number, nested: ProtobufWriter): this {
    if (nested === this) throw new RangeError('a writer cannot contain itself');
    nested.#flush();
    this.#key(field, 2);
    this.#varint(nested.#length);
    this.#flush();
    const n = nested.#bufs.length;
    for (let i = 0; i < n; i++) {
      this.#piece(
        nested.#bufs[i] as Uint8Array,
        nested.#starts[i] as number,
        nested.#ends[i] as number,
      );
    }
    this.#length += nested.#length;
    return this;
  }

  /** The bytes written so far, in a buffer of their own. */
  finish(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let offset = 0;
    const n = this.#bufs.length;
    for (let i = 0; i < n; i++) {
      const buf = this.#bufs[i] as Uint8Array;
      const start = this.#starts[i] as number;
      const end = this.#ends[i] as number;
      if (end - start <= 24) {
        // Short stretches (keys, varints, short fields): a loop beats a call into set().
        for (let j = start; j < end; j++) out[offset++] = buf[j] as number;
      } else {
        out.set(start === 0 && end === buf.length ? buf : buf.subarray(start, end), offset);
        offset += end - start;
      }
    }
    return out;
  }
}
