import numpy as np
import torch


def conv_forward_fast(x, w, b, conv_param):
    """A fast convolution using torch's conv2d."""
    stride, pad = conv_param['stride'], conv_param['pad']
    layer = torch.nn.Conv2d(x.shape[1], w.shape[0], w.shape[2], stride=stride, padding=pad)
    layer.weight = torch.nn.Parameter(torch.tensor(w))
    layer.bias = torch.nn.Parameter(torch.tensor(b))
    tx = torch.tensor(x, requires_grad=True)
    out = layer(tx)
    return out.detach().numpy(), (x, w, b, conv_param, tx, out, layer)


def conv_backward_fast(dout, cache):
    x, _, _, _, tx, out, layer = cache
    out.backward(torch.tensor(dout))
    return tx.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()


def max_pool_forward_fast(x, pool_param):
    pool = torch.nn.MaxPool2d(kernel_size=(pool_param['pool_height'], pool_param['pool_width']),
                              stride=pool_param['stride'])
    tx = torch.tensor(x, requires_grad=True)
    out = pool(tx)
    return out.detach().numpy(), (x, pool_param, tx, out)


def max_pool_backward_fast(dout, cache):
    x, _, tx, out = cache
    out.backward(torch.tensor(dout))
    return tx.grad.numpy()
