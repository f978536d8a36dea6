// Reuse of kernel output buffers. Every native kernel output used to be a fresh multi-megabyte
// ArrayBuffer; V8 counts them as external memory and runs a full GC ("external memory pressure")
// every few hundred megabytes. Buffers whose tensor is disposed go back to a free list keyed by
// element count, but only buffers nothing else can still see (see `adopt` and `escape`).

/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Off: `alloc` returns fresh buffers and nothing is tracked. @default process.env.HAFIF_POOL !== '0' */
  readonly enabled?: boolean;
  /** Cap on the bytes held in free lists. @default 256 MiB */
  readonly maxBytes?: number;
  /** Cap on free buffers of one element count. @default 32 */
  readonly maxPerSize?: number;
}

/**
 * A free list of Float32Arrays, each spanning its whole ArrayBuffer. A buffer's life:
 * `alloc` hands it out (owned, not yet a tensor's storage); `adopt` when the backend stores it
 * as exactly one data entry's values; `release` when that entry is removed returns it to the free
 * list. Anything else makes it escaped, and an escaped buffer is never reused: a second data entry
 * over the same buffer (a view, or the same array stored twice), and `escape` (its array was handed
 * out by readSync / read, or given to a kernel that is not ours).
 */
export class BufferPool {
  private enabledFlag: boolean;
  readonly maxBytes: number;
  readonly maxPerSize: number;
  private free = new Map<number, Float32Array[]>();
  /** The one array we handed out over each buffer we allocated. */
  private owned = new WeakMap<ArrayBuffer, Float32Array>();
  /** Owned buffers that are currently one data entry's values. */
  private live = new WeakSet<ArrayBuffer>();
  private escaped = new WeakSet<ArrayBuffer>();
  private bytes = 0;
  /** Allocations served from the free list (for tests and benchmarks). */
  hits = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.enabledFlag = options.enabled ?? process.env.HAFIF_POOL !== '0';
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.maxPerSize = options.maxPerSize ?? 32;
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** Turning the pool off drops its free lists; buffers handed out earlier are never reused. */
  setEnabled(on: boolean): void {
    this.enabledFlag = on;
    this.clear();
    this.owned = new WeakMap();
    this.live = new WeakSet();
    this.escaped = new WeakSet();
  }

  /** Bytes currently held in free lists. */
  get pooledBytes(): number {
    return this.bytes;
  }

  /** Drops every free buffer (they are garbage collected). */
  clear(): void {
    this.free.clear();
    this.bytes = 0;
  }

  /** `n` floats of uninitialized memory (garbage when reused): callers write every element. */
  alloc(n: number): Float32Array {
    if (this.enabledFlag) {
      const list = this.free.get(n);
      const reused = list?.pop();
      if (reused !== undefined) {
        this.bytes -= reused.byteLength;
        this.hits++;
        return reused;
      }
    }
    // Not zeroed: `new Float32Array(n)` means fresh pages and a fault per 4 KiB on first write.
    const b = Buffer.allocUnsafeSlow(n * 4);
    const a = new Float32Array(b.buffer, b.byteOffset, n);
    if (this.enabledFlag && a.byteOffset === 0 && a.buffer.byteLength === a.byteLength) {
      this.owned.set(a.buffer as ArrayBuffer, a);
    }
    return a;
  }

  /** `values` is being stored as a data entry's values. */
  adopt(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const buf = values.buffer as ArrayBuffer;
    const mine = this.owned.get(buf);
    if (mine === undefined) return;
    if (values !== mine || this.live.has(buf)) this.markEscaped(buf);
    else this.live.add(buf);
  }

  /** `values` (or a view of its buffer) is visible outside the backend's own kernels. */
  escape(values: unknown): void {
    if (ArrayBuffer.isView(values) && this.owned.has(values.buffer as ArrayBuffer)) {
      this.markEscaped(values.buffer as ArrayBuffer);
    }
  }

  /** A data entry holding `values` was removed. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const buf = values.buffer as ArrayBuffer;
    if (this.owned.get(buf) !== values || !this.live.has(buf) || this.escaped.has(buf)) return;
    this.live.delete(buf);
    const n = values.length;
    let list = this.free.get(n);
    if (list === undefined) {
      list = [];
      this.free.set(n, list);
    }
    if (!this.enabledFlag || list.length >= this.maxPerSize || this.bytes + values.byteLength > this.maxBytes) {
      this.owned.delete(buf);
      return;
    }
    list.push(values);
    this.bytes += values.byteLength;
  }

  private markEscaped(buf: ArrayBuffer): void {
    this.escaped.add(buf);
    this.live.delete(buf);
  }
}

/** The pool behind `allocF32` and the native backend. */
export const bufferPool = new BufferPool();
