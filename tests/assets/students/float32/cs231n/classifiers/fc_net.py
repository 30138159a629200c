from builtins import range
from builtins import object
import numpy as np

from cs231n.layers import *
from cs231n.layer_utils import *


class TwoLayerNet(object):
    """
    A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design.

    The architecure should be affine - relu - affine - softmax.
    """

    def __init__(self, input_dim=3*32*32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params['W1'] = np.random.normal(0.0, weight_scale, (input_dim, hidden_dim))
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = np.random.normal(0.0, weight_scale, (hidden_dim, num_classes))
        self.params['b2'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        scores = None
        hidden, cache_hidden = affine_relu_forward(X, self.params['W1'], self.params['b1'])
        scores, cache_scores = affine_forward(hidden, self.params['W2'], self.params['b2'])

        # If y is None then we are in test mode so just return scores
        if y is None:
            return scores

        loss, grads = 0, {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params['W1'] ** 2) + np.sum(self.params['W2'] ** 2))
        dhidden, grads['W2'], grads['b2'] = affine_backward(dscores, cache_scores)
        _, grads['W1'], grads['b1'] = affine_relu_backward(dhidden, cache_hidden)
        grads['W1'] += self.reg * self.params['W1']
        grads['W2'] += self.reg * self.params['W2']

        return loss, grads


class FullyConnectedNet(object):
    """
    A fully-connected neural network with an arbitrary number of hidden layers,
    ReLU nonlinearities, and a softmax loss function.

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax
    """

    def __init__(self, hidden_dims, input_dim=3*32*32, num_classes=10,
                 dropout=1, normalization=None, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None):
        """
        - dropout: Scalar between 0 and 1 giving dropout strength. If dropout=1 then
          the network should not use dropout at all.
        """
        self.normalization = normalization
        self.use_dropout = dropout != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        layer_dims = np.hstack([input_dim, hidden_dims, num_classes]).astype(int)
        for i in range(self.num_layers):
            self.params['W' + str(i + 1)] = weight_scale * np.random.randn(layer_dims[i], layer_dims[i + 1])
            self.params['b' + str(i + 1)] = np.zeros(layer_dims[i + 1])
        if self.normalization is not None:
            for i in range(self.num_layers - 1):
                self.params['gamma' + str(i + 1)] = np.ones(layer_dims[i + 1])
                self.params['beta' + str(i + 1)] = np.zeros(layer_dims[i + 1])

        # When using dropout we need to pass a dropout_param dictionary to each
        # dropout layer so that the layer knows the dropout probability and the mode
        # (train / test). You can pass the same dropout_param to each dropout layer.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': dropout}
            if seed is not None:
                self.dropout_param['seed'] = seed

        self.bn_params = []
        if self.normalization == 'batchnorm':
            self.bn_params = [{'mode': 'train'} for i in range(self.num_layers - 1)]
        if self.normalization == 'layernorm':
            self.bn_params = [{} for i in range(self.num_layers - 1)]

        # Cast all parameters to the correct datatype
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = 'test' if y is None else 'train'

        if self.use_dropout:
            self.dropout_param['mode'] = mode
        if self.normalization == 'batchnorm':
            for bn_param in self.bn_params:
                bn_param['mode'] = mode
        scores = None

        cache = []
        out = X
        for i in range(1, self.num_layers):
            W, b = self.params['W%d' % i], self.params['b%d' % i]
            if self.normalization is None:
                out, c = affine_relu_forward(out, W, b)
            else:
                out, c = affine_norm_relu_forward(out, W, b, self.params['gamma%d' % i],
                                                  self.params['beta%d' % i], self.bn_params[i - 1],
                                                  self.normalization)
            cache.append(c)
            if self.use_dropout:
                out, c = dropout_forward(out, self.dropout_param)
                cache.append(c)
        L = self.num_layers
        scores, c = affine_forward(out, self.params['W%d' % L], self.params['b%d' % L])
        cache.append(c)

        # If test mode return early
        if mode == 'test':
            return scores

        loss, grads = 0.0, {}
        loss, dout = softmax_loss(scores, y)
        for i in range(1, L + 1):
            loss += 0.5 * self.reg * np.sum(self.params['W%d' % i] ** 2)

        dout, dW, db = affine_backward(dout, cache.pop())
        grads['W%d' % L] = dW + self.reg * self.params['W%d' % L]
        grads['b%d' % L] = db
        for i in range(L - 1, 0, -1):
            if self.use_dropout:
                dout = dropout_backward(dout, cache.pop())
            if self.normalization is None:
                dout, dW, db = affine_relu_backward(dout, cache.pop())
            else:
                dout, dW, db, dgamma, dbeta = affine_norm_relu_backward(dout, cache.pop())
                grads['gamma%d' % i] = dgamma
                grads['beta%d' % i] = dbeta
            grads['W%d' % i] = dW + self.reg * self.params['W%d' % i]
            grads['b%d' % i] = db

        return loss, grads
