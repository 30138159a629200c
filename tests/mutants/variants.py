"""Correct implementations written differently from the reference: the suite must raise no alarm on them.

Each is what real students hand in: other loop orders, the compact batchnorm formula, the
probabilities form of softmax, `>=` at the ReLU kink, eps in another place that agrees within
tolerance, np.random.binomial masks. Warnings are allowed; fail and error are false alarms.
"""
from __future__ import annotations

from .cases import Variant
from .generator import Edit

L, FAST, OPTIM = "layers.py", "fast_layers.py", "optim.py"
UTILS, FC = "layer_utils.py", "classifiers/fc_net.py"


def variant(id: str, description: str, file: str, old: str, new: str) -> Variant:
    return Variant(id, description, (Edit(file, old, new),))


BATCHNORM_BACKWARD_COMPACT = '''    xhat, xmu, ivar, sqrtvar, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dx = (gamma * ivar / N) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta
'''

CONV_FORWARD_LOOPS = '''    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    out[n, f, i, j] = np.sum(x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)
'''

CONV_BACKWARD_LOOPS = '''    N, C, H, W = x.shape
    F = w.shape[0]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(H_out):
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    dw[f] += x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * dout[n, f, i, j]
                    dx_pad[n, :, h0:h0 + HH, w0:w0 + WW] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
'''

SOFTMAX_PROBS = '''    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
'''

SOFTMAX_LOGSUMEXP = '''    N = x.shape[0]
    m = x.max(axis=1, keepdims=True)
    logsumexp = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
    log_probs = x - logsumexp
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N
'''

SVM_LOOPS = '''    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    return loss / N, dx / N
'''

MAX_POOL_BACKWARD_MASK = '''    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    mask = window == np.max(window)
                    dx[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw] += mask * dout[n, c, i, j]
    return dx
'''

ADAM_COURSE = '''    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * (dw * dw)
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config
'''

# A student's own batchnorm_forward_alt, caching what the closed-form backward needs; their
# batchnorm_backward_alt reads that cache, and the layers built on the alt pair call both.
BATCHNORM_FORWARD_ALT = '''def batchnorm_forward_alt(x, gamma, beta, bn_param):
    if bn_param["mode"] != "train":
        return batchnorm_forward(x, gamma, beta, bn_param)
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    N, D = x.shape
    mu, var = x.mean(axis=0), x.var(axis=0)
    bn_param["running_mean"] = momentum * bn_param.get("running_mean", np.zeros(D, dtype=x.dtype)) + (1 - momentum) * mu
    bn_param["running_var"] = momentum * bn_param.get("running_var", np.zeros(D, dtype=x.dtype)) + (1 - momentum) * var
    istd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * istd
    return gamma * xhat + beta, (xhat, gamma, istd)


'''
BATCHNORM_BACKWARD_ALT_OWN = '''    xhat, gamma, istd = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = istd / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
'''


def batchnorm_alt_pair(backward_body: str = BATCHNORM_BACKWARD_ALT_OWN) -> tuple[Edit, ...]:
    """Edits giving the tree batchnorm_forward_alt, a batchnorm_backward_alt of `backward_body` reading
    its cache, and the spatial and sandwich layers calling the pair."""
    return (
        Edit(L, '    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",\n',
             '    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "batchnorm_forward_alt",\n'),
        Edit(L, "def batchnorm_backward_alt(dout, cache):", BATCHNORM_FORWARD_ALT + "def batchnorm_backward_alt(dout, cache):"),
        Edit(L, "    xhat, _, ivar, _, gamma = cache\n    dbeta = dout.sum(axis=0)\n    dgamma = (dout * xhat).sum(axis=0)\n"
                "    dx = _normalize_backward(dout * gamma, xhat, ivar, axis=0)\n", backward_body),
        Edit(L, "out_rows, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)",
             "out_rows, cache = batchnorm_forward_alt(_channels_last(x), gamma, beta, bn_param)"),
        Edit(UTILS, "affine_backward, affine_forward, batchnorm_backward_alt, batchnorm_forward,",
             "affine_backward, affine_forward, batchnorm_backward_alt, batchnorm_forward, batchnorm_forward_alt,"),
        Edit(UTILS, "a_bn, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)",
             "a_bn, bn_cache = batchnorm_forward_alt(a, gamma, beta, bn_param)"),
    )


FC_ONE_LOOP = '''        L = self.num_layers
        caches = []
        out = X
        for i in range(1, L + 1):
            if i < L:
                out, cache = self._hidden_forward(out, i)
            else:  # the output layer: affine only, no ReLU and no dropout on the scores
                out, cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
        scores, scores_cache = out, caches.pop()
'''

VARIANTS: tuple[Variant, ...] = (
    Variant("reference", "the reference itself, as a student tree", ()),
    variant("relu_backward_ge", "ReLU backward with >= at 0 (the other side of the kink)", L,
            "return np.where(x > 0, dout, 0)", "return dout * (x >= 0)"),
    variant("relu_forward_where", "ReLU forward as x * (x > 0)", L,
            "out = np.maximum(0, x)\n    return out, x", "out = x * (x > 0)\n    return out, x"),
    variant("affine_np_dot", "affine backward with np.dot and explicit N", L,
            "    x, w, b = cache\n    dx = (dout @ w.T).reshape(x.shape)\n    dw = x.reshape(x.shape[0], -1).T @ dout\n",
            "    x, w, b = cache\n    N = x.shape[0]\n    dx = np.dot(dout, w.T).reshape(*x.shape)\n"
            "    dw = np.dot(x.reshape(N, -1).T, dout)\n"),
    variant("batchnorm_backward_compact", "batchnorm_backward in the one-line closed form", L,
            "    xhat, xmu, ivar, sqrtvar, gamma = cache\n    N = dout.shape[0]\n    dbeta = dout.sum(axis=0)\n",
            BATCHNORM_BACKWARD_COMPACT + "    dbeta = dout.sum(axis=0)\n"),
    Variant("batchnorm_std_variable",
            "batchnorm train mode with np.var and std = np.sqrt(var + eps) computed once",
            (Edit(L, "        xmu = x - mu\n        var = (xmu ** 2).mean(axis=0)  # biased variance, np.var's default\n"
                     "        sqrtvar = np.sqrt(var + eps)\n        ivar = 1 / sqrtvar\n        xhat = xmu * ivar\n",
                  "        var = np.var(x, axis=0)\n        std = np.sqrt(var + eps)\n        xmu = x - mu\n"
                  "        sqrtvar = std\n        ivar = 1.0 / std\n        xhat = (x - mu) / std\n"),
             Edit(L, "xhat = (x - running_mean) / np.sqrt(running_var + eps)",
                  "xhat = (x - running_mean) * (running_var + eps) ** -0.5"))),
    variant("conv_forward_loops", "naive conv with four loops n, f, i, j", L,
            "    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n    out = np.zeros"
            "((N, F, H_out, W_out), dtype=np.result_type(x, w, b))\n    for i in range(H_out):\n"
            "        for j in range(W_out):\n"
            "            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]\n"
            "            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b\n"
            "    return out, (x, w, b, conv_param)\n",
            CONV_FORWARD_LOOPS),
    variant("conv_backward_loops", "naive conv backward with loops n, f, i, j", L,
            "    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
            "    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(dout, w))\n",
            CONV_BACKWARD_LOOPS + "    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
            "    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(dout, w))\n"),
    variant("max_pool_backward_mask", "max pool backward with an equality mask, four loops", L,
            "    x, pool_param = cache\n    ph, pw, stride = pool_param[\"pool_height\"], pool_param[\"pool_width\"], "
            "pool_param[\"stride\"]\n    N, C, H_out, W_out = dout.shape\n    dx = np.zeros_like(x, dtype=np.result_type(dout, x))\n",
            MAX_POOL_BACKWARD_MASK + "    dx = np.zeros_like(x, dtype=np.result_type(dout, x))\n"),
    variant("softmax_probabilities", "softmax via normalised probabilities and np.mean", L,
            "    N = x.shape[0]\n    rows = np.arange(N)\n    # Subtracting the row max",
            SOFTMAX_PROBS + "    rows = np.arange(N)\n    # Subtracting the row max"),
    variant("softmax_logsumexp", "softmax via an explicit log-sum-exp", L,
            "    N = x.shape[0]\n    rows = np.arange(N)\n    # Subtracting the row max",
            SOFTMAX_LOGSUMEXP + "    rows = np.arange(N)\n    # Subtracting the row max"),
    variant("svm_loops", "svm loss with explicit loops over examples and classes", L,
            "    N = x.shape[0]\n    rows = np.arange(N)\n    margins =",
            SVM_LOOPS + "    N = x.shape[0]\n    rows = np.arange(N)\n    margins ="),
    variant("dropout_binomial", "dropout mask from np.random.binomial, seeded through np.random.seed", L,
            "        seed = dropout_param.get(\"seed\")\n"
            "        uniform = np.random.RandomState(seed).rand(*x.shape) if seed is not None else np.random.rand(*x.shape)\n"
            "        # The mask carries the 1/p so test mode needs no scaling; cast so float32 stays float32.\n"
            "        mask = ((uniform < p) / p).astype(x.dtype, copy=False)\n",
            "        if \"seed\" in dropout_param:\n            np.random.seed(dropout_param[\"seed\"])\n"
            "        mask = np.random.binomial(1, p, size=x.shape) / p\n"),
    variant("groupnorm_five_axes", "group norm through x.reshape(N, G, C // G, H, W), statistics over (2, 3, 4)", L,
            "    grouped = x.reshape(N, G, -1)\n    mu = grouped.mean(axis=2, keepdims=True)\n"
            "    var = grouped.var(axis=2, keepdims=True)",
            "    five = x.reshape(N, G, C // G, H, W)\n    mu = five.mean(axis=(2, 3, 4)).reshape(N, G, 1)\n"
            "    var = five.var(axis=(2, 3, 4)).reshape(N, G, 1)\n    grouped = five.reshape(N, G, -1)"),
    Variant("batchnorm_alt_own_forward", "batchnorm_backward_alt written for the student's own "
            "batchnorm_forward_alt cache (xhat, gamma, 1 / std), the alt pair used by the spatial and sandwich layers",
            batchnorm_alt_pair()),
    variant("fc_one_loop_over_layers", "FullyConnectedNet's forward as one loop over every layer, the last affine only",
            FC, "        caches = []\n        out = X\n        for i in range(1, self.num_layers):\n"
                "            out, cache = self._hidden_forward(out, i)\n            caches.append(cache)\n"
                "        L = self.num_layers\n"
                '        scores, scores_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])\n',
            FC_ONE_LOOP),
    variant("adam_course_style", "Adam updating config in place, t incremented first (the course's solution style)", OPTIM,
            "    beta1, beta2 = config[\"beta1\"], config[\"beta2\"]\n", ADAM_COURSE + "    beta1, beta2 = config[\"beta1\"], config[\"beta2\"]\n"),
)
