import fc from 'fast-check';
import { EMPTY_TREE_HASH, hashChildren, hashFromHex, hashLeaf, hashToHex } from './hash';
import {
  consistencyProofRanges,
  generateConsistencyProof,
  generateInclusionProof,
  inclusionProofRanges,
  type LeafRange,
  MemoryMerkleTree,
  MerkleFrontier,
  merkleTreeHash,
  nodeReaderFromLeafHashes,
  rootFromInclusionProof,
  rootHashFromReader,
  type TreeNodeId,
  verifyConsistency,
  verifyInclusion,
} from './merkle-tree';

/**
 * Known answers from the Certificate Transparency reference implementations: the eight leaves and the roots of
 * every prefix, and the inclusion and consistency proofs, of transparency-dev/merkle proof/verify_test.go (the
 * same vectors as certificate-transparency-go and trillian's merkle tests).
 */
const RFC6962_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (hex) => new Uint8Array(Buffer.from(hex, 'hex')),
);
const RFC6962_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// [leaf index (0-based), tree size, proof]
const RFC6962_INCLUSION: readonly [number, number, readonly string[]][] = [
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
// [first size, second size, proof]
const RFC6962_CONSISTENCY: readonly [number, number, readonly string[]][] = [
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

const leafHashes = RFC6962_LEAVES.map(hashLeaf);
const rootOf = (size: number): Uint8Array => hashFromHex(RFC6962_ROOTS[size - 1]!);
const hexes = (hashes: readonly Uint8Array[]): string[] => hashes.map(hashToHex);
const flipBit = (hash: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(hash);
  copy[0]! ^= 1 << bit;
  return copy;
};
/** A node of transparency-dev's proof_test.go as the leaf range it covers. */
const node = (level: number, index: number): LeafRange => ({ start: index * 2 ** level, end: (index + 1) * 2 ** level });
const someHash = hashFromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

describe(MerkleFrontier.name, () => {
  it('computes the published root of every prefix of the RFC 6962 test tree', () => {
    const sut = MerkleFrontier.empty();
    expect(hashToHex(sut.rootHash())).toBe(hashToHex(EMPTY_TREE_HASH));
    leafHashes.forEach((leafHash, index) => {
      sut.append(leafHash);
      expect(hashToHex(sut.rootHash())).toBe(RFC6962_ROOTS[index]);
      expect(hashToHex(merkleTreeHash(leafHashes, 0, index + 1))).toBe(RFC6962_ROOTS[index]);
    });
  });

  it('has the well-known empty tree hash', () => {
    expect(hashToHex(EMPTY_TREE_HASH)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('reports every completed perfect subtree once, in order, with the hash a store will serve', () => {
    const completed: { id: TreeNodeId; hash: string }[] = [];
    const sut = MerkleFrontier.empty();
    for (const leafHash of leafHashes.slice(0, 7)) sut.append(leafHash, (id, hash) => completed.push({ id, hash: hashToHex(hash) }));
    expect(completed.map(({ id }) => `${id.level}/${id.index}`)).toEqual(['0/0', '0/1', '1/0', '0/2', '0/3', '1/1', '2/0', '0/4', '0/5', '1/2', '0/6']);
    expect(completed.find(({ id }) => id.level === 2)?.hash).toBe(RFC6962_ROOTS[3]);
  });

  it('resumes from its persisted state with the same root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 50 }), (before, after) => {
        const leaves = Array.from({ length: before + after }, (_, i) => hashLeaf(Uint8Array.of(i % 256, Math.floor(i / 256))));
        const original = MerkleFrontier.empty();
        leaves.slice(0, before).forEach((leaf) => original.append(leaf));
        const sut = MerkleFrontier.fromState(original.state.size, original.state.nodes);
        leaves.slice(before).forEach((leaf) => sut.append(leaf));
        expect(hashToHex(sut.rootHash())).toBe(hashToHex(merkleTreeHash(leaves)));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a persisted state with the wrong number of nodes', () => {
    expect(() => MerkleFrontier.fromState(5, [someHash])).toThrow('a tree of size 5 has 2 frontier nodes, got 1');
  });
});

describe(MemoryMerkleTree.name, () => {
  const sut = MemoryMerkleTree.fromLeafHashes(leafHashes);

  it.each(RFC6962_INCLUSION)('generates the published inclusion proof of leaf %i in a tree of %i', (leafIndex, treeSize, proof) => {
    expect(hexes(sut.inclusionProof(leafIndex, treeSize))).toEqual(proof);
  });

  it.each(RFC6962_CONSISTENCY)('generates the published consistency proof from %i to %i', (fromSize, toSize, proof) => {
    expect(hexes(sut.consistencyProof(fromSize, toSize))).toEqual(proof);
  });

  it('serves the root of any earlier size', () => {
    for (let size = 1; size <= 8; size += 1) expect(hashToHex(sut.rootHash(size))).toBe(RFC6962_ROOTS[size - 1]);
  });

  it('serves the same proofs through the asynchronous node reader a database store implements', async () => {
    expect(hexes(await generateInclusionProof(sut, 5, 8))).toEqual(RFC6962_INCLUSION[1]![2]);
    expect(hexes(await generateConsistencyProof(sut, 6, 7))).toEqual(RFC6962_CONSISTENCY[3]![2]);
    expect(hashToHex(await rootHashFromReader(sut, 7))).toBe(RFC6962_ROOTS[6]);
    expect(await generateConsistencyProof(sut, 4, 4)).toEqual([]);
  });
});

describe(nodeReaderFromLeafHashes.name, () => {
  it('serves the published proofs from a store that keeps only leaf hashes', async () => {
    const sut = nodeReaderFromLeafHashes((start, end) => Promise.resolve(leafHashes.slice(start, end)));
    expect(hexes(await generateInclusionProof(sut, 0, 8))).toEqual(RFC6962_INCLUSION[0]![2]);
    expect(hexes(await generateConsistencyProof(sut, 2, 5))).toEqual(RFC6962_CONSISTENCY[2]![2]);
    expect(hashToHex(await rootHashFromReader(sut, 6))).toBe(RFC6962_ROOTS[5]);
  });
});

describe('proof shapes of RFC 9162 (transparency-dev/merkle proof_test.go)', () => {
  it.each([
    [1, 0, []],
    [2, 0, [node(0, 1)]],
    [2, 1, [node(0, 0)]],
    [3, 1, [node(0, 0), node(0, 2)]],
    [7, 0, [node(0, 1), node(1, 1), { start: 4, end: 7 }]],
    [7, 3, [node(0, 2), node(1, 0), { start: 4, end: 7 }]],
    [7, 4, [node(0, 5), node(0, 6), node(2, 0)]],
    [7, 6, [node(1, 2), node(2, 0)]],
    [5, 3, [node(0, 2), node(1, 0), node(0, 4)]],
    [6, 4, [node(0, 5), node(2, 0)]],
    [15, 10, [node(0, 11), node(1, 4), { start: 12, end: 15 }, node(3, 0)]],
    [95, 81, [node(0, 80), node(1, 41), node(2, 21), { start: 88, end: 95 }, node(4, 4), node(6, 0)]],
  ])('inclusion proof in a tree of %i for leaf %i', (treeSize, leafIndex, ranges) => {
    expect(inclusionProofRanges(leafIndex, treeSize)).toEqual(ranges);
  });

  it.each([
    [1, 2, [node(0, 1)]],
    [1, 6, [node(0, 1), node(1, 1), node(1, 2)]],
    [2, 8, [node(1, 1), node(2, 1)]],
    [3, 7, [node(0, 2), node(0, 3), node(1, 0), { start: 4, end: 7 }]],
    [4, 7, [{ start: 4, end: 7 }]],
    [5, 7, [node(0, 4), node(0, 5), node(0, 6), node(2, 0)]],
    [7, 8, [node(0, 6), node(0, 7), node(1, 2), node(2, 0)]],
    [3, 3, []],
    [10, 15, [node(1, 4), node(1, 5), { start: 12, end: 15 }, node(3, 0)]],
    [24, 31, [node(3, 2), { start: 24, end: 31 }, node(4, 0)]],
  ])('consistency proof from %i to %i', (fromSize, toSize, ranges) => {
    expect(consistencyProofRanges(fromSize, toSize)).toEqual(ranges);
  });
});

describe(verifyInclusion.name, () => {
  it.each(RFC6962_INCLUSION)('accepts the published proof of leaf %i in a tree of %i and refuses every corruption of it', (leafIndex, treeSize, proofHex) => {
    const proof = proofHex.map(hashFromHex);
    const leafHash = leafHashes[leafIndex]!;
    const root = rootOf(treeSize);
    expect(verifyInclusion(leafIndex, treeSize, leafHash, proof, root)).toBe(true);
    // The corruptions of transparency-dev's corruptInclusionProof.
    const probes: [number, number, Uint8Array, readonly Uint8Array[], Uint8Array][] = [
      [leafIndex - 1, treeSize, leafHash, proof, root],
      [leafIndex + 1, treeSize, leafHash, proof, root],
      [leafIndex ^ 2, treeSize, leafHash, proof, root],
      [leafIndex, treeSize * 2, leafHash, proof, root],
      [leafIndex, Math.floor(treeSize / 2), leafHash, proof, root],
      [leafIndex, treeSize, new Uint8Array(Buffer.from('WrongLeaf')), proof, root],
      [leafIndex, treeSize, leafHash, proof, EMPTY_TREE_HASH],
      [leafIndex, treeSize, leafHash, proof, someHash],
      [leafIndex, treeSize, leafHash, [...proof, new Uint8Array()], root],
      [leafIndex, treeSize, leafHash, [...proof, root], root],
      [leafIndex, treeSize, leafHash, [new Uint8Array(), ...proof], root],
      [leafIndex, treeSize, leafHash, [root, ...proof], root],
      [leafIndex, treeSize, leafHash, proof.slice(0, -1), root],
      ...proof.map((_, i): [number, number, Uint8Array, readonly Uint8Array[], Uint8Array] => [
        leafIndex,
        treeSize,
        leafHash,
        proof.map((p, j) => (i === j ? flipBit(p, 3) : p)),
        root,
      ]),
    ];
    if (proof.length > 1) probes.push([leafIndex, treeSize, leafHash, [proof[0]!, someHash, ...proof.slice(1)], root]);
    for (const [index, size, leaf, path, expectedRoot] of probes) expect(verifyInclusion(index, size, leaf, path, expectedRoot)).toBe(false);
  });

  it('handles the one-leaf tree: the root is the leaf hash and the proof is empty', () => {
    const hash = hashLeaf(new Uint8Array(Buffer.from('data')));
    expect(verifyInclusion(0, 1, hash, [], hash)).toBe(true);
    expect(verifyInclusion(0, 1, hash, [], new Uint8Array())).toBe(false);
    expect(verifyInclusion(0, 1, new Uint8Array(), [], hash)).toBe(false);
  });

  it.each([
    [0, 0],
    [1, 0],
    [2, 1],
  ])('refuses leaf %i outside a tree of %i', (leafIndex, treeSize) => {
    expect(rootFromInclusionProof(leafIndex, treeSize, someHash, [])).toBeUndefined();
  });
});

describe(verifyConsistency.name, () => {
  it.each(RFC6962_CONSISTENCY)('accepts the published proof from %i to %i and refuses every corruption of it', (fromSize, toSize, proofHex) => {
    const proof = proofHex.map(hashFromHex);
    const root1 = rootOf(fromSize);
    const root2 = rootOf(toSize);
    expect(verifyConsistency(fromSize, toSize, proof, root1, root2)).toBe(true);
    const wrongRoot = new Uint8Array(Buffer.from('WrongRoot'));
    // The corruptions of transparency-dev's corruptConsistencyProof.
    const probes: [number, number, readonly Uint8Array[], Uint8Array, Uint8Array][] = [
      [fromSize - 1, toSize, proof, root1, root2],
      [fromSize + 1, toSize, proof, root1, root2],
      [fromSize ^ 2, toSize, proof, root1, root2],
      [fromSize, toSize * 2, proof, root1, root2],
      [fromSize, Math.floor(toSize / 2), proof, root1, root2],
      [fromSize, toSize, proof, wrongRoot, root2],
      [fromSize, toSize, proof, root1, wrongRoot],
      [fromSize, toSize, proof, root2, root1],
      [fromSize, toSize, [], root1, root2],
      [fromSize, toSize, [...proof, new Uint8Array()], root1, root2],
      [fromSize, toSize, [...proof, root1], root1, root2],
      [fromSize, toSize, [...proof, root2], root1, root2],
      [fromSize, toSize, [new Uint8Array(), ...proof], root1, root2],
      [fromSize, toSize, [root1, ...proof], root1, root2],
      [fromSize, toSize, [root2, ...proof], root1, root2],
      [fromSize, toSize, [proof[0]!, ...proof], root1, root2],
      [fromSize, toSize, proof.slice(0, -1), root1, root2],
      ...proof.map((_, i): [number, number, readonly Uint8Array[], Uint8Array, Uint8Array] => [
        fromSize,
        toSize,
        proof.map((p, j) => (i === j ? flipBit(p, 4) : p)),
        root1,
        root2,
      ]),
    ];
    for (const [size1, size2, path, first, second] of probes) expect(verifyConsistency(size1, size2, path, first, second)).toBe(false);
  });

  it.each([
    [0, 0, 'root1', 'root1', [], true],
    [0, 1, 'root1', 'root2', [], true],
    [1, 1, 'root2', 'root2', [], true],
    [0, 0, 'root1', 'root2', [], false],
    [1, 1, 'root1', 'root2', [], false],
    [1, 0, 'root1', 'root2', [], false],
    [2, 1, 'root1', 'root2', [], false],
    [1, 2, 'root1', 'root2', [], false],
    [0, 0, 'empty', 'empty', [EMPTY_TREE_HASH], false],
    [0, 1, 'empty', 'empty', [EMPTY_TREE_HASH], false],
    [1, 1, 'empty', 'empty', [EMPTY_TREE_HASH], false],
  ])('trivial case %i -> %i (%s, %s) is %s', (fromSize, toSize, first, second, proof, expected) => {
    const named = (name: string): Uint8Array => (name === 'empty' ? EMPTY_TREE_HASH : new Uint8Array(Buffer.from(`don't care ${name}`)));
    expect(verifyConsistency(fromSize, toSize, proof, named(first), named(second))).toBe(expected);
  });
});

describe('Merkle tree properties', () => {
  const treeArbitrary = fc.integer({ min: 1, max: 140 }).chain((size) => fc.record({ size: fc.constant(size), seed: fc.integer({ min: 0, max: 1_000_000 }) }));
  const buildTree = (size: number, seed: number): { tree: MemoryMerkleTree; leaves: Uint8Array[] } => {
    const leaves = Array.from({ length: size }, (_, i) => hashLeaf(new Uint8Array(Buffer.from(`${seed}:${i}`))));
    return { tree: MemoryMerkleTree.fromLeafHashes(leaves), leaves };
  };

  it('agrees with the recursive definition of MTH for every prefix', () => {
    fc.assert(
      fc.property(treeArbitrary, ({ size, seed }) => {
        const { tree, leaves } = buildTree(size, seed);
        for (let prefix = 0; prefix <= size; prefix += 1) expect(hashToHex(tree.rootHash(prefix))).toBe(hashToHex(merkleTreeHash(leaves, 0, prefix)));
      }),
      { numRuns: 30 },
    );
  });

  it('proves the inclusion of every leaf in every size that holds it', () => {
    fc.assert(
      fc.property(treeArbitrary, ({ size, seed }) => {
        const { tree, leaves } = buildTree(size, seed);
        for (let leafIndex = 0; leafIndex < size; leafIndex += 1) {
          const proof = tree.inclusionProof(leafIndex, size);
          expect(verifyInclusion(leafIndex, size, leaves[leafIndex]!, proof, tree.rootHash())).toBe(true);
          // The proof binds the position too: the same leaf is not provable at its neighbour's index.
          if (size > 1) expect(verifyInclusion((leafIndex + 1) % size, size, leaves[leafIndex]!, proof, tree.rootHash())).toBe(false);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('proves the consistency of every smaller size m < n', () => {
    fc.assert(
      fc.property(treeArbitrary, fc.nat(), ({ size, seed }, pick) => {
        const { tree } = buildTree(size, seed);
        const fromSize = pick % (size + 1);
        const proof = tree.consistencyProof(fromSize, size);
        expect(verifyConsistency(fromSize, size, proof, tree.rootHash(fromSize), tree.rootHash(size))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('detects any single change: one flipped bit in a proof node, a changed leaf, or a history rewritten before m', () => {
    fc.assert(
      fc.property(
        treeArbitrary.filter(({ size }) => size >= 2),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        ({ size, seed }, pickA, pickB, bit) => {
          const { tree, leaves } = buildTree(size, seed);
          const fromSize = 1 + (pickA % (size - 1));
          const proof = tree.consistencyProof(fromSize, size);
          const target = pickB % proof.length;
          const mutated = proof.map((p, i) => (i === target ? flipBitAt(p, bit) : p));
          expect(verifyConsistency(fromSize, size, mutated, tree.rootHash(fromSize), tree.rootHash(size))).toBe(false);

          const leafIndex = pickB % size;
          const inclusion = tree.inclusionProof(leafIndex, size);
          expect(verifyInclusion(leafIndex, size, flipBitAt(leaves[leafIndex]!, bit), inclusion, tree.rootHash())).toBe(false);

          const rewritten = leaves.map((leaf, i) => (i === pickB % fromSize ? flipBitAt(leaf, bit) : leaf));
          const forked = MemoryMerkleTree.fromLeafHashes(rewritten);
          expect(verifyConsistency(fromSize, size, forked.consistencyProof(fromSize, size), tree.rootHash(fromSize), forked.rootHash(size))).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hashes nodes with domain separation, so a leaf never equals a node over the same bytes', () => {
    const left = hashLeaf(Uint8Array.of(1));
    const right = hashLeaf(Uint8Array.of(2));
    expect(hashToHex(hashChildren(left, right))).not.toBe(hashToHex(hashLeaf(Buffer.concat([left, right]))));
  });
});

function flipBitAt(hash: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(hash);
  const byte = Math.floor(bit / 8) % copy.length;
  copy[byte]! ^= 1 << (bit % 8);
  return copy;
}
