"""The reference numpy network: correct, readable, vectorised; CS231n assignments 1, 2 and 3.

Every public name is re-exported flat here, so `sanitykit.reference.affine_forward`
and `sanitykit.reference.FullyConnectedNet` both work. Two names would clash and are
exported otherwise: assignment 1's two-layer net (classifiers/neural_net.py) is
`A1TwoLayerNet`, since `TwoLayerNet` is assignment 2's (classifiers/fc_net.py); the
course's plain `sigmoid` helper stays in `sanitykit.reference.rnn_layers`, beside the
flat `sigmoid_forward`.
"""
from sanitykit.reference.layers import *  # noqa: F401,F403
from sanitykit.reference.fast_layers import *  # noqa: F401,F403
from sanitykit.reference.layer_utils import *  # noqa: F401,F403
from sanitykit.reference.optim import *  # noqa: F401,F403
from sanitykit.reference.init import *  # noqa: F401,F403
from sanitykit.reference.preprocessing import *  # noqa: F401,F403
from sanitykit.reference.data import *  # noqa: F401,F403
from sanitykit.reference.classifiers.fc_net import *  # noqa: F401,F403
from sanitykit.reference.classifiers.cnn import *  # noqa: F401,F403
from sanitykit.reference.solver import *  # noqa: F401,F403
# assignment 1
from sanitykit.reference.k_nearest_neighbor import *  # noqa: F401,F403
from sanitykit.reference.linear_svm import *  # noqa: F401,F403
from sanitykit.reference.softmax import *  # noqa: F401,F403
from sanitykit.reference.linear_classifier import *  # noqa: F401,F403
from sanitykit.reference.classifiers.neural_net import TwoLayerNet as A1TwoLayerNet  # noqa: F401
# assignment 3
from sanitykit.reference.rnn_layers import *  # noqa: F401,F403
from sanitykit.reference.classifiers.rnn import *  # noqa: F401,F403
