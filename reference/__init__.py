"""The reference numpy network: correct, readable, vectorised; CS231n assignment 2 API.

Every public name is re-exported flat here, so `sanitykit.reference.affine_forward`
and `sanitykit.reference.FullyConnectedNet` both work.
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
