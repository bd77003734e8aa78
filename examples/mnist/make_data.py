"""Write a synthetic dataset in MNIST's IDX format, for machines without network.

The four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) have MNIST's shapes:
28x28 unsigned bytes, labels 0-9. Each class is a bright stroke at a
class-specific place plus noise, so a CNN learns it quickly; accuracy on it
says the pipeline works, not how good the model is on real digits.

    python make_data.py /tmp/mnist --train 60000 --test 10000
    python train.py --data /tmp/mnist
"""

import argparse
import gzip
import os
import random
import struct


def image(label, rng):
    px = bytearray(28 * 28)
    for i in range(len(px)):
        px[i] = rng.randrange(0, 40)
    # A 4-pixel-wide bar: rows for labels 0-4, columns for 5-9.
    pos = 3 + (label % 5) * 5
    for a in range(2, 26):
        for w in range(4):
            b = pos + w
            r, c = (b, a) if label < 5 else (a, b)
            px[r * 28 + c] = rng.randrange(200, 256)
    return bytes(px)


def write(folder, prefix, n, rng):
    labels = [rng.randrange(10) for _ in range(n)]
    with gzip.open(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">HBBIII", 0, 0x08, 3, n, 28, 28))
        for y in labels:
            f.write(image(y, rng))
    with gzip.open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">HBBI", 0, 0x08, 1, n))
        f.write(bytes(labels))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--train", type=int, default=60000)
    p.add_argument("--test", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    rng = random.Random(args.seed)
    write(args.folder, "train", args.train, rng)
    write(args.folder, "t10k", args.test, rng)
    print(f"wrote {args.train} training and {args.test} test images to {args.folder}")


if __name__ == "__main__":
    main()
