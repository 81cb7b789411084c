import assert from 'node:assert/strict';
import { EMPTY_TREE_HASH, hashChildren, hashesEqual } from './hash';

/**
 * The Merkle tree of RFC 9162 section 2.1 (identical to RFC 6962 section 2.1) over the log's leaf hashes.
 *
 * Leaf indices and tree sizes are JS numbers: exact up to 2^53, far beyond any audit log, and every step below
 * uses arithmetic (division, remainder), never the 32-bit bitwise operators.
 */
export const TREE_SIZE_MAX = Number.MAX_SAFE_INTEGER;

/** A run of leaves [start, end) whose Merkle tree hash (MTH) is one element of a proof. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A perfect subtree: the 2^level leaves [index * 2^level, (index + 1) * 2^level). Level 0 nodes are leaf hashes.
 * Stores persist these (the frontier reports each one as it completes), and proofs are built from them.
 */
export interface TreeNodeId {
  readonly level: number;
  readonly index: number;
}

/** Reads perfect-subtree hashes from wherever the log keeps them (memory, a database table, files). */
export interface MerkleNodeReader {
  /** Must return the hashes in the order of `ids`; every id asked for lies inside the tree the caller named. */
  readNodes(ids: readonly TreeNodeId[]): Promise<readonly Uint8Array[]>;
}

export function assertTreeSize(size: number, what = 'tree size'): void {
  assert.ok(Number.isSafeInteger(size), `${what} ${size} is not an integer`);
  assert.ok(size >= 0, `${what} ${size} is negative`);
}

/** The largest power of two smaller than n (the split point k of RFC 9162 section 2.1.1), for n > 1. */
export function largestPowerOfTwoBelow(n: number): number {
  assert.ok(n > 1, 'a split needs at least two leaves');
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/** MTH of RFC 9162 section 2.1.1 computed straight from the definition: O(n), for tests and small trees. */
export function merkleTreeHash(leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Uint8Array {
  const count = end - start;
  if (count === 0) return EMPTY_TREE_HASH;
  if (count === 1) return leafHashes[start]!;
  const k = largestPowerOfTwoBelow(count);
  return hashChildren(merkleTreeHash(leafHashes, start, start + k), merkleTreeHash(leafHashes, start + k, end));
}

/**
 * The ranges whose MTH form the inclusion proof PATH(m, D[n]) of RFC 9162 section 2.1.3.1, in proof order (the
 * sibling nearest the leaf first).
 */
export function inclusionProofRanges(leafIndex: number, treeSize: number): LeafRange[] {
  assertTreeSize(treeSize);
  assert.ok(Number.isSafeInteger(leafIndex) && leafIndex >= 0 && leafIndex < treeSize, `leaf ${leafIndex} is not in a tree of size ${treeSize}`);
  const ranges: LeafRange[] = [];
  collectPath(leafIndex, 0, treeSize, ranges);
  return ranges;
}

function collectPath(m: number, start: number, end: number, out: LeafRange[]): void {
  const n = end - start;
  if (n === 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m < k) {
    collectPath(m, start, start + k, out);
    out.push({ start: start + k, end });
  } else {
    collectPath(m - k, start + k, end, out);
    out.push({ start, end: start + k });
  }
}

/** The ranges of the consistency proof PROOF(m, D[n]) of RFC 9162 section 2.1.4.1, in proof order. */
export function consistencyProofRanges(fromSize: number, toSize: number): LeafRange[] {
  assertTreeSize(fromSize, 'first tree size');
  assertTreeSize(toSize, 'second tree size');
  assert.ok(fromSize <= toSize, `tree size ${fromSize} is larger than ${toSize}`);
  const ranges: LeafRange[] = [];
  // Sizes 0 and m == n have empty proofs (RFC 9162 section 2.1.4.1 defines PROOF for 0 < m < n only).
  if (fromSize === 0 || fromSize === toSize) return ranges;
  collectSubproof(fromSize, 0, toSize, true, ranges);
  return ranges;
}

function collectSubproof(m: number, start: number, end: number, wholeOldTree: boolean, out: LeafRange[]): void {
  const n = end - start;
  if (m === n) {
    if (!wholeOldTree) out.push({ start, end });
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    collectSubproof(m, start, start + k, wholeOldTree, out);
    out.push({ start: start + k, end });
  } else {
    collectSubproof(m - k, start + k, end, false, out);
    out.push({ start, end: start + k });
  }
}

/**
 * Splits a range into the perfect subtrees whose fold (right to left) is its MTH, largest first. The range must
 * start on a multiple of the power of two at or above its length, as every range of a proof or of a tree head does.
 */
export function perfectSubtreesOf(range: LeafRange): TreeNodeId[] {
  const length = range.end - range.start;
  assert.ok(length > 0, 'an empty range has no subtrees');
  let ceiling = 1;
  while (ceiling < length) ceiling *= 2;
  assert.ok(range.start % ceiling === 0, `range [${range.start}, ${range.end}) is not aligned to a subtree`);
  const nodes: TreeNodeId[] = [];
  let start = range.start;
  let remaining = length;
  while (remaining > 0) {
    let width = 1;
    let level = 0;
    while (width * 2 <= remaining) {
      width *= 2;
      level += 1;
    }
    nodes.push({ level, index: start / width });
    start += width;
    remaining -= width;
  }
  return nodes;
}

/** Folds perfect-subtree hashes (largest first) into the MTH of their union, the way MTH splits it. */
export function foldSubtreeHashes(hashes: readonly Uint8Array[]): Uint8Array {
  assert.ok(hashes.length > 0, 'nothing to fold');
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i -= 1) hash = hashChildren(hashes[i]!, hash);
  return hash;
}

/**
 * A node reader for a store that keeps only leaf hashes: each node is recomputed from its 2^level leaves, read
 * in one contiguous range per node. Proofs then cost O(n) hashing, fine for small logs; a store that persists the
 * nodes `MerkleFrontier.append` reports answers in O(log n) instead.
 */
export function nodeReaderFromLeafHashes(readLeafHashes: (start: number, end: number) => Promise<readonly Uint8Array[]>): MerkleNodeReader {
  return {
    async readNodes(ids) {
      const hashes: Uint8Array[] = [];
      for (const id of ids) {
        const width = 2 ** id.level;
        const leaves = await readLeafHashes(id.index * width, (id.index + 1) * width);
        assert.equal(leaves.length, width, `leaf store returned ${leaves.length} hashes for a node of ${width} leaves`);
        hashes.push(merkleTreeHash(leaves));
      }
      return hashes;
    },
  };
}

async function hashRanges(reader: MerkleNodeReader, ranges: readonly LeafRange[]): Promise<Uint8Array[]> {
  const perRange = ranges.map(perfectSubtreesOf);
  const ids = perRange.flat();
  // One batched read: a database store answers a whole proof with one query.
  const hashes = ids.length === 0 ? [] : await reader.readNodes(ids);
  assert.equal(hashes.length, ids.length, 'node reader returned the wrong number of hashes');
  let offset = 0;
  return perRange.map((nodes) => {
    const slice = hashes.slice(offset, offset + nodes.length);
    offset += nodes.length;
    return foldSubtreeHashes(slice);
  });
}

export async function generateInclusionProof(reader: MerkleNodeReader, leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
  return hashRanges(reader, inclusionProofRanges(leafIndex, treeSize));
}

export async function generateConsistencyProof(reader: MerkleNodeReader, fromSize: number, toSize: number): Promise<Uint8Array[]> {
  return hashRanges(reader, consistencyProofRanges(fromSize, toSize));
}

export async function rootHashFromReader(reader: MerkleNodeReader, treeSize: number): Promise<Uint8Array> {
  assertTreeSize(treeSize);
  if (treeSize === 0) return EMPTY_TREE_HASH;
  const [root] = await hashRanges(reader, [{ start: 0, end: treeSize }]);
  return root!;
}

/**
 * The compact range [0, size): the roots of the perfect subtrees that make up the tree so far, one per set bit of
 * the size, largest first. Appending a leaf merges equal-sized neighbours (O(log n) worst, O(1) amortised) and
 * the root of the current tree is a fold over at most log2(n) hashes, so a log of any length is sealed without
 * rehashing it. Persist `nodes` with the size to resume after a restart.
 */
export class MerkleFrontier {
  private constructor(
    private treeSize: number,
    private readonly nodes: Uint8Array[],
  ) {}

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** Resumes from a persisted state; `nodes` are the perfect-subtree roots of `treeSize`, largest first. */
  static fromState(treeSize: number, nodes: readonly Uint8Array[]): MerkleFrontier {
    assertTreeSize(treeSize);
    const expected = perfectSubtreeCount(treeSize);
    if (nodes.length !== expected) {
      throw new RangeError(`a tree of size ${treeSize} has ${expected} frontier nodes, got ${nodes.length}`);
    }
    return new MerkleFrontier(treeSize, [...nodes]);
  }

  get size(): number {
    return this.treeSize;
  }

  /** The frontier nodes with their positions, largest first (what a store persists to resume). */
  get state(): { readonly size: number; readonly nodes: readonly Uint8Array[]; readonly ids: readonly TreeNodeId[] } {
    const ids = this.treeSize === 0 ? [] : perfectSubtreesOf({ start: 0, end: this.treeSize });
    return { size: this.treeSize, nodes: [...this.nodes], ids };
  }

  /**
   * Appends one leaf hash. `onNodeCompleted` sees every perfect subtree this append completes (the leaf itself at
   * level 0, then each merged parent), which is exactly what a store needs to answer proofs later.
   */
  append(leafHash: Uint8Array, onNodeCompleted?: (id: TreeNodeId, hash: Uint8Array) => void): void {
    assert.ok(this.treeSize < TREE_SIZE_MAX, 'tree is full');
    let carry = this.treeSize;
    let level = 0;
    let index = this.treeSize;
    let hash = leafHash;
    onNodeCompleted?.({ level, index }, hash);
    while (carry % 2 === 1) {
      const left = this.nodes.pop();
      assert.ok(left !== undefined, 'frontier lost a node');
      hash = hashChildren(left, hash);
      level += 1;
      index = (index - 1) / 2;
      carry = (carry - 1) / 2;
      onNodeCompleted?.({ level, index }, hash);
    }
    this.nodes.push(hash);
    this.treeSize += 1;
  }

  rootHash(): Uint8Array {
    return this.treeSize === 0 ? EMPTY_TREE_HASH : foldSubtreeHashes(this.nodes);
  }
}

function perfectSubtreeCount(size: number): number {
  let count = 0;
  let rest = size;
  while (rest > 0) {
    count += rest % 2;
    rest = Math.floor(rest / 2);
  }
  return count;
}

/**
 * Every perfect-subtree hash of a log held in memory: level 0 holds the leaf hashes, level L the completed nodes of
 * 2^L leaves. Serves proofs for any earlier size synchronously, and as a MerkleNodeReader.
 */
export class MemoryMerkleTree implements MerkleNodeReader {
  private readonly levels: Uint8Array[][] = [[]];
  private readonly frontier = MerkleFrontier.empty();

  static fromLeafHashes(leafHashes: Iterable<Uint8Array>): MemoryMerkleTree {
    const tree = new MemoryMerkleTree();
    for (const leafHash of leafHashes) tree.append(leafHash);
    return tree;
  }

  get size(): number {
    return this.frontier.size;
  }

  append(leafHash: Uint8Array): void {
    this.frontier.append(leafHash, (id, hash) => {
      while (this.levels.length <= id.level) this.levels.push([]);
      const level = this.levels[id.level]!;
      assert.equal(level.length, id.index, 'nodes complete in order');
      level.push(hash);
    });
  }

  leafHash(leafIndex: number): Uint8Array {
    const hash = this.levels[0]![leafIndex];
    assert.ok(hash !== undefined, `leaf ${leafIndex} is not in a tree of size ${this.size}`);
    return hash;
  }

  node(id: TreeNodeId): Uint8Array {
    const hash = this.levels[id.level]?.[id.index];
    assert.ok(hash !== undefined, `node ${id.level}/${id.index} is not complete in a tree of size ${this.size}`);
    return hash;
  }

  readNodes(ids: readonly TreeNodeId[]): Promise<readonly Uint8Array[]> {
    return Promise.resolve(ids.map((id) => this.node(id)));
  }

  rootHash(treeSize = this.size): Uint8Array {
    this.assertWithin(treeSize);
    if (treeSize === this.size) return this.frontier.rootHash();
    return treeSize === 0 ? EMPTY_TREE_HASH : this.rangeHash({ start: 0, end: treeSize });
  }

  inclusionProof(leafIndex: number, treeSize = this.size): Uint8Array[] {
    this.assertWithin(treeSize);
    return inclusionProofRanges(leafIndex, treeSize).map((range) => this.rangeHash(range));
  }

  consistencyProof(fromSize: number, toSize = this.size): Uint8Array[] {
    this.assertWithin(toSize);
    return consistencyProofRanges(fromSize, toSize).map((range) => this.rangeHash(range));
  }

  private rangeHash(range: LeafRange): Uint8Array {
    return foldSubtreeHashes(perfectSubtreesOf(range).map((id) => this.node(id)));
  }

  private assertWithin(treeSize: number): void {
    assertTreeSize(treeSize);
    assert.ok(treeSize <= this.size, `tree size ${treeSize} is beyond the ${this.size} leaves held`);
  }
}

/**
 * Inclusion proof verification, RFC 9162 section 2.1.3.2, step by step. Returns the root the proof leads to, or
 * undefined where the algorithm says "fail".
 */
export function rootFromInclusionProof(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array | undefined {
  // 1. leaf_index must be inside the tree.
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0 || leafIndex >= treeSize) return undefined;
  // 2. fn = leaf_index, sn = tree_size - 1.
  let fn = leafIndex;
  let sn = treeSize - 1;
  // 3. r = hash.
  let r = leafHash;
  // 4. For each p in the path:
  for (const p of proof) {
    // a. sn == 0 means the proof is longer than the tree is high.
    if (sn === 0) return undefined;
    // b. p is a left sibling when fn is a right child, or when fn is the last node of its level.
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      // Climb past the levels where fn is the rightmost node with no sibling.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    // c. One level up.
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5. sn must be 0: the path reached the root, not a node below it.
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[], rootHash: Uint8Array): boolean {
  const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  return computed !== undefined && hashesEqual(computed, rootHash);
}

/**
 * Consistency proof verification, RFC 9162 section 2.1.4.2, step by step, for 0 < first < second. The trivial
 * cases the RFC leaves out are handled as the CT reference implementations do: first == second needs an empty
 * proof and equal roots; first == 0 needs an empty proof (the empty tree is a prefix of every tree).
 */
export function verifyConsistency(firstSize: number, secondSize: number, proof: readonly Uint8Array[], firstHash: Uint8Array, secondHash: Uint8Array): boolean {
  if (!Number.isSafeInteger(firstSize) || !Number.isSafeInteger(secondSize) || firstSize < 0 || secondSize < firstSize) return false;
  if (firstSize === secondSize) return proof.length === 0 && hashesEqual(firstHash, secondHash);
  if (firstSize === 0) return proof.length === 0;
  // 1. An empty path fails.
  if (proof.length === 0) return false;
  // 2. When first is an exact power of two, the old root itself is the first node of the path.
  const path = isPowerOfTwo(firstSize) ? [firstHash, ...proof] : [...proof];
  // 3. fn = first - 1, sn = second - 1.
  let fn = firstSize - 1;
  let sn = secondSize - 1;
  // 4. Skip the levels where fn is a right child: the path starts at the first left-child ancestor.
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  // 5. fr = sr = first value of the path.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. For each subsequent value c:
  for (let i = 1; i < path.length; i += 1) {
    const c = path[i]!;
    // a.
    if (sn === 0) return false;
    // b.
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    // c.
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 7.
  return hashesEqual(fr, firstHash) && hashesEqual(sr, secondHash) && sn === 0;
}
