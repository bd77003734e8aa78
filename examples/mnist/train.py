"""Train a small CNN on MNIST, as a gitlaunch job.

Adapted for a launcher: MNIST comes from a mounted dataset folder (no
download inside the job), the test accuracy is printed in one stable line
that gitlaunch's metric pattern reads, and metrics.json plus mnist_cnn.pt
are written into the job's folder, where they persist with the run.

The dataset folder may hold the four MNIST IDX files (train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte),
optionally gzipped, directly or under MNIST/raw/ (torchvision's layout).
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

# Normalisation constants of the MNIST training set.
MEAN, STD = 0.1307, 0.3081


class Net(nn.Module):
    """Two convolutions, max-pooling, dropout and two dense layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def find_idx(root, stem):
    """Return the path of an IDX file under root, plain or gzipped."""
    for folder in (root, os.path.join(root, "MNIST", "raw"), os.path.join(root, "raw")):
        for name in (stem, stem + ".gz"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"{stem} not found under {root} (looked in ., MNIST/raw and raw, plain or .gz); "
        "mount the mnist dataset or pass --data"
    )


def read_idx(path):
    """Read an IDX file (the MNIST format) into a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    expected = 1
    for d in dims:
        expected *= d
    if len(body) != expected:
        raise ValueError(f"{path}: expected {expected} bytes of data, found {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load_split(root, prefix):
    images = read_idx(find_idx(root, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_idx(root, f"{prefix}-labels-idx1-ubyte"))
    x = (images.float().div(255.0).sub(MEAN).div(STD)).unsqueeze(1)
    return TensorDataset(x, labels.long())


def train(model, device, loader, optimizer, epoch, log_interval):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            done = batch_idx * len(data)
            print(
                f"Train Epoch: {epoch} [{done}/{len(loader.dataset)} "
                f"({100.0 * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}",
                flush=True,
            )
    return loss.item()


def test(model, device, loader):
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            correct += output.argmax(dim=1).eq(target).sum().item()
    n = len(loader.dataset)
    test_loss /= n
    accuracy = 100.0 * correct / n
    # gitlaunch reads this line with the job's metric pattern; keep it stable.
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{n} ({accuracy:.2f}%)", flush=True)
    return test_loss, accuracy


def main(argv=None):
    p = argparse.ArgumentParser(description="Train a CNN on MNIST")
    p.add_argument("--data", default=os.environ.get("MNIST_DATA", "/mnt/datasets/mnist"),
                   help="folder holding the MNIST IDX files (default: $MNIST_DATA or /mnt/datasets/mnist)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--test-batch-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--gamma", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-interval", type=int, default=100)
    p.add_argument("--no-cuda", action="store_true")
    p.add_argument("--out", default="mnist_cnn.pt")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    use_cuda = torch.cuda.is_available() and not args.no_cuda
    device = torch.device("cuda" if use_cuda else "cpu")
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(0)})" if use_cuda else ""), flush=True)

    try:
        train_set = load_split(args.data, "train")
        test_set = load_split(args.data, "t10k")
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, **kwargs)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size, **kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    start = time.time()
    loss = accuracy = train_loss = 0.0
    for epoch in range(1, args.epochs + 1):
        train_loss = train(model, device, train_loader, optimizer, epoch, args.log_interval)
        loss, accuracy = test(model, device, test_loader)
        scheduler.step()

    torch.save(model.state_dict(), args.out)
    metrics = {
        "accuracy": accuracy,
        "test_loss": loss,
        "train_loss": train_loss,
        "epochs": args.epochs,
        "seconds": round(time.time() - start, 2),
    }
    with open("metrics.json", "w") as f:
        json.dump(metrics, f)
    print(f"saved {args.out} and metrics.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
