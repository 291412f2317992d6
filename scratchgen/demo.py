"""The engine demo: fit a small network to a curve, with its gradients checked first.

    scratchgen demo

1. builds a 1-32-32-1 tanh network from raw tensors (no layers yet: W @ x + b by hand);
2. checks the gradient of its loss against central differences (sg.gradcheck, float64);
3. fits y = sin(2x) + x/2 by gradient descent with momentum, printing the loss;
4. saves a picture of the data and the fitted curve.
"""

import time

import numpy as np

import scratchgen as sg


def make_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3, 3, size=(n, 1)))
    y = np.sin(2 * x) + 0.5 * x + rng.normal(0, 0.05, size=(n, 1))
    return x, y


def init_params(sizes=(1, 32, 32, 1), dtype=sg.float32):
    """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like torch's Linear, biases zero."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        w = sg.rand(fan_in, fan_out, dtype=dtype) * (2 * bound) - bound
        params += [w.detach().requires_grad_(), sg.zeros(fan_out, dtype=dtype, requires_grad=True)]
    return params


def network(x, *params):
    """tanh(x W1 + b1) -> tanh(. W2 + b2) -> . W3 + b3."""
    h = x
    for i in range(0, len(params) - 2, 2):
        h = (h @ params[i] + params[i + 1]).tanh()
    return h @ params[-2] + params[-1]


def mse(prediction, target):
    """Mean squared error: mean((p - t)^2)."""
    return ((prediction - target) ** 2).mean()


def check_gradients(x, y, params):
    """gradcheck the loss with respect to every parameter, in float64, on 8 points."""
    x64 = sg.tensor(x[:8], dtype=sg.float64)
    y64 = sg.tensor(y[:8], dtype=sg.float64)
    params64 = [p.detach().double().requires_grad_() for p in params]
    start = time.perf_counter()
    sg.gradcheck(lambda *ps: mse(network(x64, *ps), y64), params64)
    n = sum(p.numel() for p in params64)
    print(
        f"gradcheck: backward matches central differences on all {n} parameters "
        f"({time.perf_counter() - start:.2f} s)"
    )


def fit(x, y, params, steps, lr=0.05, momentum=0.9):
    """Gradient descent with momentum: v = m v + g;  p = p - lr v."""
    inputs, targets = sg.tensor(x), sg.tensor(y)
    velocities = [sg.zeros_like(p) for p in params]
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss = mse(network(inputs, *params), targets)
        loss.backward()
        with sg.no_grad():
            for p, v in zip(params, velocities):
                v.data = momentum * v.data + p.grad.data
                p.data -= lr * v.data
                p.grad = None
        if step == 1 or step % max(steps // 10, 1) == 0:
            rate = step / (time.perf_counter() - start)
            print(f"step {step:5d}/{steps}  loss {loss.item():.5f}  ({rate:.0f} steps/s)")
    return loss.item()


def plot(x, y, params, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-3, 3, 400)[:, None]
    with sg.no_grad():
        fitted = network(sg.tensor(grid), *params).numpy()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(x, y, s=6, alpha=0.5, label="data: sin(2x) + x/2 + noise")
    ax.plot(grid, fitted, color="C3", lw=2, label="1-32-32-1 tanh network")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    ax.set_title("scratchgen demo: a network fitted with its own autodiff")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(steps=2000, out="demo_fit.png", seed=0):
    sg.manual_seed(seed)
    x, y = make_data(seed=seed)
    params = init_params()
    check_gradients(x, y, params)
    final = fit(x, y, params, steps)
    plot(x, y, params, out)
    print(f"final loss {final:.5f}; picture saved to {out}")
    return final
