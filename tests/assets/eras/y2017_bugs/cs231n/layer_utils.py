from layers import *


def affine_softmax_loss(x, w, b, y):
  scores, cache = affine_forward(x, w, b)
  loss, dscores = softmax_loss(scores, y)
  print 'loss', loss
  dx, dw, db = affine_backward(dscores, cache)
  return loss, dx, dw, db
