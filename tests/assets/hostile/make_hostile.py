"""Writes tests/assets/hostile/ (run once; the files are checked in)."""
import codecs
from pathlib import Path

ROOT = Path(__file__).resolve().parent

LAYERS = '''import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''
OPTIM = '''def sgd(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
'''
LAYER_UTILS = '''from cs231n.layers import *


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
'''
FC_NET = '''import numpy as np

from ..layers import *
from ..layer_utils import *


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
'''


def write(path: str, data) -> None:
    target = ROOT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def tree(name: str, layers, *, utils=True, classifiers=True) -> None:
    write(f"{name}/cs231n/__init__.py", "")
    write(f"{name}/cs231n/layers.py", layers)
    write(f"{name}/cs231n/optim.py", OPTIM)
    if utils:
        write(f"{name}/cs231n/layer_utils.py", LAYER_UTILS)
    if classifiers:
        write(f"{name}/cs231n/classifiers/__init__.py", "from cs231n.classifiers.fc_net import *\n")
        write(f"{name}/cs231n/classifiers/fc_net.py", FC_NET)


# Notepad's "Unicode": UTF-16 with a byte-order mark.
tree("utf16", codecs.BOM_UTF16_LE + LAYERS.encode("utf-16-le"))
# UTF-16 without a byte-order mark.
tree("utf16_no_bom", LAYERS.encode("utf-16-le"), classifiers=False)
# A NUL byte in the middle of otherwise readable source (a botched copy).
tree("nul_byte", LAYERS.replace("def relu_forward", "\x00\x00def relu_forward").encode(), classifiers=False)
# Binary data saved as layers.py: no definition can be read at all.
tree("binary", bytes(range(256)) * 4, classifiers=False)
# A latin-1 "é" in a comment on line 7, no coding line: blamed on layers.py, not on its importers.
tree("latin1", LAYERS.replace("    return out, (x, w, b)", "    # caché\n    return out, (x, w, b)").encode("latin-1"))
# The same file with a PEP 263 coding line, and one with a UTF-8 byte-order mark: both load.
tree("coding_line", ("# -*- coding: latin-1 -*-\n# café\n" + LAYERS).encode("latin-1"), classifiers=False)
tree("utf8_bom", codecs.BOM_UTF8 + ("# café\n" + LAYERS).encode("utf-8"), classifiers=False)
# Nothing of the tree can be read: the target cannot be loaded (exit 2).
write("all_utf16/cs231n/layers.py", codecs.BOM_UTF16_LE + LAYERS.encode("utf-16-le"))
# sys.exit at import in layers.py: its three importers must not take the blame.
tree("exit_at_import", "import sys\n\nsys.exit(3)\n" + LAYERS)
# layers.py replaces numpy.sum at import; the module that first imported it is innocent.
tree("numpy_patch_at_import", LAYERS.replace("import numpy as np\n", "import numpy as np\n\nnp.sum = lambda *a, **k: 0.0\n"))
# Two copies of the package, one per attempt: which one is checked must be said.
write("attempts/attempt1/cs231n/layers.py", LAYERS)
write("attempts/attempt2/cs231n/layers.py", LAYERS)
# Terminal escapes in what the student's code prints at import and in an exception message.
write("escapes/layers.py", 'print("\\x1b[2J\\x1b]0;owned\\x07hello from layers")\n' + LAYERS.replace(
    "    x, w, b = cache\n", "    x, w, b = cache\n    raise ValueError(\"\\x1b[31mred\\x1b[0m and \\x1b]0;title\\x07\")\n"))
# Code written for NumPy 1 that NumPy 2 rejects.
write("numpy1/layers.py", LAYERS.replace("    dx = dout.dot(w.T).reshape(x.shape)",
                                          "    dx = dout.dot(w.T).reshape(x.shape).astype(np.float)")
      .replace("    return np.maximum(0, x), x", "    return np.maximum(0, x) * np.product([1]), x"))
write("numpy1_at_import/layers.py", LAYERS.replace("import numpy as np\n", "import numpy as np\n\nDTYPE = np.float\n"))
# A training loop left at the top of layers.py: 100000 lines of 27 characters at import.
write("prints_at_import/layers.py", 'for epoch in range(100000):\n    print("epoch %5d: loss 2.302585" % epoch)\n' + LAYERS)
